// prefix_watch: a doorbell on an etcd key prefix (etcd_watch.hpp).
#include "etcd_watch.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "brood/os/log.hpp"
#include "etcd_kv.hpp"

namespace brood::legion::etcd {
namespace {

using watch_clock = std::chrono::steady_clock;

constexpr int connect_ms = 1000;
constexpr int pause_ms = 200;  // between two streams
constexpr std::chrono::seconds complain_every{10};

// Waits for `events` on `fd` or for the stop eventfd; false when stopped or timed out.
bool wait_watch_fd(int fd, short events, int stop_fd, int timeout_ms) {
  pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  int n;
  do {
    n = ::poll(p, 2, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0 && !(p[1].revents & POLLIN) && p[0].revents != 0;
}

// Moves the complete chunks of the chunked coding at the front of `raw` to `out`; false when the
// coding is malformed or ended (its last, empty chunk).
bool dechunk_watch(std::string& raw, std::string& out) {
  for (;;) {
    const std::size_t eol = raw.find("\r\n");
    if (eol == std::string::npos) return raw.size() < 64;  // a size line is short
    std::size_t size = 0;
    std::size_t i = 0;
    for (; i < eol && std::isxdigit(static_cast<unsigned char>(raw[i])); ++i) {
      if (size > (std::size_t{1} << 32)) return false;
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw[i])));
      size = size * 16 + static_cast<std::size_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (i == 0) return false;
    if (size == 0) return false;                       // the stream ended
    if (raw.size() < eol + 2 + size + 2) return true;  // not all here yet
    if (raw.compare(eol + 2 + size, 2, "\r\n") != 0) return false;
    out.append(raw, eol + 2, size);
    raw.erase(0, eol + 2 + size + 2);
  }
}

}  // namespace

prefix_watch::prefix_watch(std::vector<url> endpoints, std::string prefix, std::string legion,
                           std::function<void()> ring)
    : eps_(std::move(endpoints)),
      prefix_(std::move(prefix)),
      legion_(std::move(legion)),
      ring_(std::move(ring)),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  nlohmann::json body;
  body["create_request"] = {{"key", base64_encode(prefix_)},
                            {"range_end", base64_encode(prefix_end(prefix_))},
                            {"filters", {"NODELETE"}}};
  request_ = body.dump();
  if (!eps_.empty() && stop_) thread_ = std::thread([this] { run(); });
}

prefix_watch::~prefix_watch() {
  stopping_ = true;
  const std::uint64_t one = 1;
  if (stop_) (void)::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void prefix_watch::ring() {
  rung_ = true;
  if (ring_) ring_();
}

void prefix_watch::run() {
  std::size_t at = 0;
  watch_clock::time_point complained{};
  while (!stopping_) {
    std::string why;
    const bool was_live = stream(eps_[at], why);
    live_ = false;
    if (stopping_) break;
    const auto now = watch_clock::now();
    if (now - complained >= complain_every) {
      complained = now;
      os::log("legion '", legion_, "': the placement inbox watch ", was_live ? "broke" : "failed",
              " (", eps_[at].text, ": ", why, "): the inbox is read every round until it is back");
    }
    at = (at + 1) % eps_.size();
    pollfd p{stop_.get(), POLLIN, 0};
    (void)::poll(&p, 1, pause_ms);
  }
}

// Returns whether the watch was created on this stream (it then broke); `why` says how it ended.
bool prefix_watch::stream(const url& u, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int e = ::getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &found); e != 0) {
    why = std::string("resolve: ") + ::gai_strerror(e);
    return false;
  }
  os::unique_fd fd(
      ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int rc = fd ? ::connect(fd.get(), found->ai_addr, found->ai_addrlen) : -1;
  const int err = errno;
  ::freeaddrinfo(found);
  if (!fd || (rc != 0 && err != EINPROGRESS)) {
    why = std::string("connect: ") + std::strerror(err);
    return false;
  }
  if (rc != 0) {
    if (!wait_watch_fd(fd.get(), POLLOUT, stop_.get(), connect_ms)) {
      why = "connect: no answer in time";
      return false;
    }
    int so = 0;
    socklen_t len = sizeof so;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so, &len);
    if (so != 0) {
      why = std::string("connect: ") + std::strerror(so);
      return false;
    }
  }
  const std::string req =
      "POST /v3/watch HTTP/1.1\r\nHost: " + u.host + ":" + u.port +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(request_.size()) +
      "\r\n\r\n" + request_;
  for (std::size_t sent = 0; sent < req.size();) {
    const ssize_t n = ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_watch_fd(fd.get(), POLLOUT, stop_.get(), connect_ms)) {
        why = "send: no room in time";
        return false;
      }
    } else {
      why = std::string("send: ") + std::strerror(errno);
      return false;
    }
  }
  std::string raw, body;
  bool headers = false, chunked = false, created = false;
  char buf[16384];
  while (!stopping_) {
    // Idle is normal (nothing written to the inbox): wait as long as it takes.
    if (!wait_watch_fd(fd.get(), POLLIN, stop_.get(), 1000)) continue;
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      why = n == 0 ? "closed by etcd" : std::string("recv: ") + std::strerror(errno);
      return created;
    }
    raw.append(buf, static_cast<std::size_t>(n));
    if (!headers) {
      const std::size_t end = raw.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (raw.size() > 16384) {
          why = "HTTP headers too long";
          return created;
        }
        continue;
      }
      std::string head = raw.substr(0, end);
      raw.erase(0, end + 4);
      if (head.compare(0, 12, "HTTP/1.1 200") != 0) {
        why = "HTTP: " + head.substr(0, head.find("\r\n"));
        return created;
      }
      std::transform(head.begin(), head.end(), head.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      chunked = head.find("transfer-encoding: chunked") != std::string::npos;
      headers = true;
    }
    if (chunked) {
      if (!dechunk_watch(raw, body)) {
        why = "the stream ended";
        return created;
      }
    } else {
      body += raw;
      raw.clear();
    }
    for (std::size_t eol; (eol = body.find('\n')) != std::string::npos;) {
      const std::string line = body.substr(0, eol);
      body.erase(0, eol + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) {
        why = "not JSON: " + line.substr(0, 80);
        return created;
      }
      const nlohmann::json& r = j.contains("result") ? j["result"] : j;
      if (j.contains("error") || !r.is_object()) {
        why = "etcd: " + line.substr(0, 120);
        return created;
      }
      if (r.value("canceled", false) || int_field(r, "compact_revision") > 0) {
        why = "canceled by etcd: " + r.value("cancel_reason", std::string("compacted"));
        return created;
      }
      if (r.value("created", false)) {
        created = true;
        live_ = true;
        ring();  // what was written before the watch began is read now
      }
      if (r.contains("events") && r["events"].is_array() && !r["events"].empty()) ring();
    }
    if (body.size() > (std::size_t{1} << 20)) {
      why = "a line longer than 1 MiB";
      return created;
    }
  }
  return created;
}

}  // namespace brood::legion::etcd

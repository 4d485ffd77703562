#pragma once
// Test harness for node processes: runs a body (run_node) in a forked child in its own process
// group, collects its stderr log lines, and talks to it with blocking loopback/unix sockets.
// REQUIRES: start() is called while the test process has a single thread; the test process is a
// child subreaper (PR_SET_CHILD_SUBREAPER) so that kill_all() also reaps orphaned workers.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "brood/node/router.hpp"
#include "brood/os/log.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/msgpack_codec.hpp"

namespace brood::node::test {

// The handler of every test node: "pid" -> its pid; "sleep" -> its pid after 500 ms; "hang" ->
// never answers; "crash" -> the worker dies; anything else is echoed.
inline router make_router() {
  router r;
  r.on_message([](const wire::value& m, std::uint8_t) -> wire::value {
    const std::string cmd = m.is<std::string>() ? m.as<std::string>() : "";
    if (cmd == "sleep") {
      os::log("handler sleeping");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    } else if (cmd == "hang") {
      os::log("handler hanging");
      for (;;) ::pause();
    } else if (cmd == "crash") {
      ::_exit(3);
    } else if (cmd != "pid") {
      return m;
    }
    return static_cast<std::int64_t>(::getpid());
  });
  return r;
}

using std::chrono::milliseconds;

// Sends `message` as a marshalled message (modifier1 33) on a fresh blocking connection `fd` and
// reads the reply. nullopt (and `why`) on any failure, a failure reply included. Closes `fd`.
inline std::optional<wire::value> call_fd(int fd, const sockaddr* sa, socklen_t len,
                                          const wire::value& message, std::string* why) {
  auto fail = [&](std::string text) -> std::optional<wire::value> {
    if (why) *why = text + (errno ? std::string(": ") + std::strerror(errno) : "");
    ::close(fd);
    return std::nullopt;
  };
  errno = 0;
  timeval tv{5, 0};  // every call is bounded
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, sa, len) != 0) return fail("connect");
  wire::bytes out;
  wire::append_value_packet(out, wire::to_byte(wire::modifier1::message_marshal), 0, message);
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
    return fail("send");
  wire::bytes in;
  wire::header head;
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  for (;;) {
    auto r = wire::parse_packet(in, lim, head);
    if (r.is_bad()) return fail("bad reply: " + r.why);
    if (r.is_done()) break;
    std::uint8_t chunk[4096];
    errno = 0;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return fail(n == 0 ? "connection closed before the reply" : "recv");
    in.insert(in.end(), chunk, chunk + n);
  }
  errno = 0;
  if (head.modifier1 == wire::to_byte(wire::modifier1::response)) return fail("failure reply");
  wire::value v;
  auto r = wire::decode_msgpack(wire::bytes_view(in).subspan(wire::header_size, head.size), lim, v);
  if (!r.is_done()) return fail("bad msgpack reply: " + r.why);
  ::close(fd);
  return v;
}

inline std::optional<wire::value> call(std::uint16_t port, const wire::value& message,
                                       std::string* why = nullptr) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return call_fd(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa, message, why);
}

inline std::optional<wire::value> call_unix(const std::string& path, const wire::value& message,
                                            std::string* why = nullptr) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return call_fd(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa, message, why);
}

// A node (or any body) running in a forked child; its stderr lines are collected. Set
// BROOD_TEST_VERBOSE=1 to echo them.
class node_process {
 public:
  node_process() = default;
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;
  ~node_process() { kill_all(); }

  void start(const std::function<int()>& body) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      int rc = body();
      ::_exit(rc);
    }
    ::close(fds[1]);
    if (pid_ < 0) {
      ::close(fds[0]);
      return;
    }
    ::setpgid(pid_, pid_);
    group_ = pid_;
    read_fd_ = fds[0];
    reader_ = std::thread([this] { read_lines(); });
  }

  pid_t pid() const { return pid_; }

  // True once `count` lines containing `text` were logged; false on timeout or end of output.
  bool wait_for(const std::string& text, int count = 1, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return matches(text) >= count || eof_; }) &&
           matches(text) >= count;
  }

  std::string all_lines() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& l : lines_) all += l + "\n";
    return all;
  }

  // The port of the first "bound to TCP address HOST:PORT fd F" line, 0 if none.
  std::uint16_t tcp_port() {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_) {
      auto at = l.find("bound to TCP address ");
      auto fd = l.find(" fd ");
      if (at == std::string::npos || fd == std::string::npos) continue;
      auto colon = l.rfind(':', fd);
      return static_cast<std::uint16_t>(std::atoi(l.substr(colon + 1, fd - colon - 1).c_str()));
    }
    return 0;
  }

  // Pids of every "spawned uWSGI worker" / "Respawned uWSGI worker" line, in log order.
  std::vector<pid_t> worker_pids() {
    std::lock_guard lock(mutex_);
    std::vector<pid_t> pids;
    for (const auto& l : lines_) {
      if (l.find("uWSGI worker ") == std::string::npos) continue;
      auto at = l.find("pid: ");
      if (at != std::string::npos) pids.push_back(std::atoi(l.c_str() + at + 5));
    }
    return pids;
  }

  // Waits (polling, bounded) for the child to exit; its wait status, nullopt on timeout.
  std::optional<int> wait_exit(milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      if (std::chrono::steady_clock::now() > end) return std::nullopt;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::nullopt;
  }

  // Kills the child's process group, reaps the child and every orphan, stops the reader.
  void kill_all() {
    if (group_ > 0) ::kill(-group_, SIGKILL);  // the node and its workers, whatever is left
    group_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    const auto end = std::chrono::steady_clock::now() + milliseconds(3000);
    while (std::chrono::steady_clock::now() < end) {
      pid_t p = ::waitpid(-1, nullptr, WNOHANG);
      if (p < 0) break;  // ECHILD: nobody left
      if (p == 0) std::this_thread::sleep_for(milliseconds(5));
    }
    stop_ = true;
    if (reader_.joinable()) reader_.join();
    if (read_fd_ >= 0) ::close(read_fd_);
    read_fd_ = -1;
  }

 private:
  int matches(const std::string& text) const {
    int n = 0;
    for (const auto& l : lines_) n += l.find(text) != std::string::npos;
    return n;
  }

  void read_lines() {
    static const bool verbose = std::getenv("BROOD_TEST_VERBOSE") != nullptr;
    std::string partial;
    char buf[4096];
    while (!stop_) {
      pollfd p{read_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::read(read_fd_, buf, sizeof buf);
      if (n <= 0) break;
      partial.append(buf, static_cast<std::size_t>(n));
      std::lock_guard lock(mutex_);
      for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
        lines_.push_back(partial.substr(0, nl));
        if (verbose) std::cerr << "  | " << lines_.back() << "\n";
        partial.erase(0, nl + 1);
      }
      changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    eof_ = true;
    changed_.notify_all();
  }

  pid_t pid_ = -1;
  pid_t group_ = -1;
  int read_fd_ = -1;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

}  // namespace brood::node::test

// Binding the node's listening sockets: TCP (IPv4, IPv6, host names) and unix paths.
#include "brood/os/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace brood::os {
namespace {

// A socket address of any family, as bind(2) wants it.
struct raw_address {
  sockaddr_storage storage{};
  socklen_t size = 0;
  int family() const noexcept { return storage.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

std::error_code last_error() noexcept { return {errno, std::system_category()}; }

// A host name that is worth asking the resolver about: labels of letters, digits, '-' and '_'
// separated by single dots. Anything else is rejected here, without a DNS query.
bool plausible_host_name(std::string_view host) noexcept {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

// Resolves `host` ("" = all IPv4 interfaces, IPv4/IPv6 literal, optionally in [..], or a name;
// IPv4 preferred for names) with `port`. On failure sets `why` and returns an error.
std::error_code resolve_tcp(std::string host, std::uint16_t port, raw_address& out,
                            std::string& why) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (host.empty() || ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    if (host.empty()) v4->sin_addr.s_addr = htonl(INADDR_ANY);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.size = sizeof(sockaddr_in);
    return {};
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.size = sizeof(sockaddr_in6);
    return {};
  }
  const auto unresolved = std::make_error_code(std::errc::address_not_available);
  if (!plausible_host_name(host)) {
    why = "invalid host name \"" + host + "\"";
    return unresolved;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list); rc != 0) {
    why = "cannot resolve host \"" + host + "\": " + ::gai_strerror(rc);
    return unresolved;
  }
  const addrinfo* pick = list;
  for (const addrinfo* a = list; a; a = a->ai_next)
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  std::memcpy(&out.storage, pick->ai_addr, pick->ai_addrlen);
  out.size = pick->ai_addrlen;
  if (out.family() == AF_INET) v4->sin_port = htons(port);
  if (out.family() == AF_INET6) v6->sin6_port = htons(port);
  ::freeaddrinfo(list);
  return {};
}

// "127.0.0.1:41234" / "[::1]:41234" for the address `fd` is bound to.
std::string bound_tcp_name(int fd) {
  raw_address a;
  a.size = sizeof(a.storage);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.size) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (a.family() == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

// Removes a socket file nobody listens on any more. A live socket (connect succeeds) or a file
// that is not a socket is left alone; bind then fails with EADDRINUSE.
void unlink_stale_socket(const raw_address& a, const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return;
  bool live = ::connect(probe, a.get(), a.size) == 0;
  ::close(probe);
  if (!live) ::unlink(path.c_str());
}

constexpr int defer_accept_seconds = 5;

// socket + SO_REUSEADDR + bind + listen. On failure `why` gets the failing step's reason; `fd`
// stays open only when bind succeeded (a unix socket file then exists).
std::error_code bind_listen(const raw_address& a, int backlog, accept_when when, unique_fd& fd,
                            std::string& why) {
  fd.reset(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return last_error();
  if (a.family() != AF_UNIX) {
    int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
      return last_error();
  }
  if (::bind(fd.get(), a.get(), a.size) != 0) {
    auto ec = last_error();
    fd.reset();
    return ec;
  }
  if (::listen(fd.get(), backlog) != 0) {
    why = "listen failed";
    return last_error();
  }
  if (a.family() != AF_UNIX && when == accept_when::first_bytes) {
    // Accept a connection only once its first request bytes are in: the worker's first read then
    // succeeds, and connections that send nothing never wake a worker. Best effort.
    int seconds = defer_accept_seconds;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds));
  }
  return {};
}

}  // namespace

std::error_code bind_socket(const address& addr, int backlog, bound_socket& out, std::string& why,
                            accept_when when) {
  const std::string shown =
      addr.type == address::kind::tcp ? addr.host + ":" + std::to_string(addr.port) : addr.path;
  raw_address raw;
  std::string detail;
  std::error_code ec;
  if (addr.type == address::kind::tcp) {
    ec = resolve_tcp(addr.host, addr.port, raw, detail);
  } else {
    auto* un = reinterpret_cast<sockaddr_un*>(&raw.storage);
    if (addr.path.empty() || addr.path.size() >= sizeof(un->sun_path)) {
      detail =
          "unix socket path must be 1.." + std::to_string(sizeof(un->sun_path) - 1) + " bytes long";
      ec = std::make_error_code(std::errc::filename_too_long);
    } else {
      un->sun_family = AF_UNIX;
      std::memcpy(un->sun_path, addr.path.data(), addr.path.size());
      raw.size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + addr.path.size() + 1);
      unlink_stale_socket(raw, addr.path);
    }
  }
  unique_fd fd;
  if (!ec) ec = bind_listen(raw, backlog, when, fd, detail);
  const bool is_unix = addr.type == address::kind::unix_path;
  if (!ec && is_unix && ::chmod(addr.path.c_str(), 0666) != 0) {
    detail = "chmod 0666 failed";
    ec = last_error();
  }
  if (ec) {
    if (is_unix && fd) ::unlink(addr.path.c_str());  // bound, then failed: our file
    why = "cannot bind " + shown + ": " + (detail.empty() ? ec.message() : detail);
    if (!detail.empty() && ec.category() == std::system_category()) why += ": " + ec.message();
    return ec;
  }
  out.addr = addr;
  out.name = addr.type == address::kind::tcp ? bound_tcp_name(fd.get()) : addr.path;
  out.fd = std::move(fd);
  return {};
}

bool is_listening_socket(int fd) noexcept {
  int listening = 0;
  socklen_t len = sizeof(listening);
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
}

std::optional<bound_socket> adopt_listening_fd(int fd) {
  if (!is_listening_socket(fd)) return std::nullopt;
  int type = 0;
  socklen_t len = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
    return std::nullopt;
  sockaddr_storage sa{};
  len = sizeof(sa);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return std::nullopt;
  bound_socket out;
  if (sa.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&sa);
    out.addr.type = address::kind::unix_path;
    out.addr.path = un->sun_path;
    out.name = out.addr.path;
  } else if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6) {
    out.name = bound_tcp_name(fd);
    auto parsed = parse_address(out.name);
    if (!parsed) return std::nullopt;
    out.addr = *parsed;
  } else {
    return std::nullopt;
  }
  out.fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!out.fd || ::fcntl(out.fd.get(), F_SETFL, ::fcntl(out.fd.get(), F_GETFL) | O_NONBLOCK) != 0)
    return std::nullopt;
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, fd);  // dup2 clears close-on-exec on `fd`
    ::close(null);
  }
  return out;
}

bool names_socket(const address& addr, const bound_socket& s) {
  if (addr.type != s.addr.type) return false;
  if (addr.type == address::kind::unix_path) return addr.path == s.addr.path;
  auto any = [](const std::string& h) { return h.empty() || h == "0.0.0.0"; };
  return addr.port == s.addr.port &&
         (addr.host == s.addr.host || (any(addr.host) && any(s.addr.host)));
}

}  // namespace brood::os

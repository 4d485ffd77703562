#include "endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "brood/os/address.hpp"
#include "errors.hpp"

namespace brood::client::detail {
namespace {

std::optional<call_error> unix_endpoint(std::string_view text, const std::string& path,
                                        endpoint& out) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.size() >= sizeof(un.sun_path)) {
    return bad_request_error("unix socket path too long (" + std::to_string(path.size()) +
                             " bytes, at most " + std::to_string(sizeof(un.sun_path) - 1) +
                             ") in \"" + std::string(text) + "\"");
  }
  std::memcpy(un.sun_path, path.data(), path.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + path.size() + 1;
  if (path.starts_with('@')) {  // abstract namespace: no trailing NUL
    un.sun_path[0] = '\0';
    len -= 1;
  }
  std::memcpy(&out.addr, &un, sizeof(un));
  out.len = len;
  out.tcp = false;
  return std::nullopt;
}

// Fills `out` from a numeric host, or returns false.
bool numeric_host(const std::string& host, std::uint16_t port, endpoint& out) {
  sockaddr_in in4{};
  if (::inet_pton(AF_INET, host.c_str(), &in4.sin_addr) == 1) {
    in4.sin_family = AF_INET;
    in4.sin_port = htons(port);
    std::memcpy(&out.addr, &in4, sizeof(in4));
    out.len = sizeof(in4);
    return true;
  }
  sockaddr_in6 in6{};
  if (::inet_pton(AF_INET6, host.c_str(), &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    std::memcpy(&out.addr, &in6, sizeof(in6));
    out.len = sizeof(in6);
    return true;
  }
  return false;
}

std::optional<call_error> lookup_host(std::string_view text, const os::address& a, endpoint& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(a.host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    return unreachable_error(text, "cannot resolve host \"" + a.host + "\": " + ::gai_strerror(rc));
  }
  const addrinfo* pick = list;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
  }
  std::memcpy(&out.addr, pick->ai_addr, pick->ai_addrlen);
  out.len = pick->ai_addrlen;
  ::freeaddrinfo(list);
  if (out.family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out.addr)->sin_port = htons(a.port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&out.addr)->sin6_port = htons(a.port);
  }
  return std::nullopt;
}

}  // namespace

std::optional<call_error> resolve_endpoint(std::string_view text, endpoint& out) {
  std::string why;
  auto a = os::parse_address(text, &why);
  if (!a) return bad_request_error("bad address: " + why);
  if (a->type == os::address::kind::unix_path) return unix_endpoint(text, a->path, out);
  out.tcp = true;
  if (numeric_host(a->host.empty() ? "127.0.0.1" : a->host, a->port, out)) return std::nullopt;
  return lookup_host(text, *a, out);
}

std::optional<call_error> endpoint_cache::get(std::string_view text, endpoint& out) {
  if (auto it = map_.find(text); it != map_.end()) {
    out = it->second;
    return std::nullopt;
  }
  if (auto err = resolve_endpoint(text, out)) return err;
  if (map_.size() >= max_entries) map_.clear();
  map_.emplace(std::string(text), out);
  return std::nullopt;
}

int start_connect(const endpoint& ep, os::unique_fd& out) {
  out.reset(::socket(ep.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!out) return errno;
  if (ep.tcp) {
    int one = 1;
    ::setsockopt(out.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (::connect(out.get(), ep.sa(), ep.len) == 0) return 0;
  int err = errno;
  if (err == EINTR) err = EINPROGRESS;  // the connect goes on in the background
  if (err != EINPROGRESS) out.reset();
  return err;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

bool idle_connection_alive(int fd) {
  char b = 0;
  ssize_t n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace brood::client::detail

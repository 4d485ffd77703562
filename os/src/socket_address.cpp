// resolve_address and describe_socket_address: the one resolver of brood.
#include "brood/os/socket_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <string_view>

namespace brood::os {
namespace {

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

status unresolved(std::string message) {
  return status(std::make_error_code(std::errc::address_not_available), std::move(message));
}

void set_port(socket_address& out, std::uint16_t port) {
  if (out.family() == AF_INET) reinterpret_cast<sockaddr_in*>(&out.storage)->sin_port = htons(port);
  if (out.family() == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&out.storage)->sin6_port = htons(port);
}

// An IPv4 or IPv6 literal into `out`; false when `host` is neither.
bool numeric_host(const std::string& host, socket_address& out) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    out.size = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    out.size = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

result<socket_address> resolve_tcp(std::string host, std::uint16_t port, resolve_for purpose) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  socket_address out;
  if (host.empty()) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(purpose == resolve_for::bind ? INADDR_ANY : INADDR_LOOPBACK);
    out.size = sizeof(sockaddr_in);
  } else if (!numeric_host(host, out)) {
    // An IPv6 literal with a zone ("fe80::1%eth0") is read by getaddrinfo, never looked up.
    const bool zoned = host.find(':') != std::string::npos;
    if (!zoned && !plausible_host_name(host))
      return unresolved("invalid host name \"" + host + "\"");
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = zoned ? AI_NUMERICHOST : 0;
    addrinfo* list = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list); rc != 0)
      return unresolved("cannot resolve host \"" + host + "\": " + ::gai_strerror(rc));
    const addrinfo* pick = list;
    for (const addrinfo* a = list; a; a = a->ai_next)
      if (a->ai_family == AF_INET) {
        pick = a;
        break;
      }
    std::memcpy(&out.storage, pick->ai_addr, pick->ai_addrlen);
    out.size = pick->ai_addrlen;
    ::freeaddrinfo(list);
  }
  set_port(out, port);
  return out;
}

result<socket_address> resolve_unix(const std::string& path, resolve_for purpose) {
  socket_address out;
  auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
  if (path.empty() || path.size() >= sizeof(un->sun_path)) {
    return status(std::make_error_code(std::errc::filename_too_long),
                  "unix socket path must be 1.." + std::to_string(sizeof(un->sun_path) - 1) +
                      " bytes long (it has " + std::to_string(path.size()) + ")");
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  out.size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  if (purpose == resolve_for::connect && path.starts_with('@')) {
    un->sun_path[0] = '\0';  // abstract namespace: no trailing NUL
    out.size -= 1;
  }
  return out;
}

}  // namespace

result<socket_address> resolve_address(const address& a, resolve_for purpose) {
  if (a.type == address::kind::unix_path) return resolve_unix(a.path, purpose);
  return resolve_tcp(a.host, a.port, purpose);
}

std::string describe_socket_address(const sockaddr* sa, socklen_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ':' + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return '[' + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (sa->sa_family == AF_UNIX && len > offsetof(sockaddr_un, sun_path)) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    std::string path(un->sun_path, len - offsetof(sockaddr_un, sun_path));
    if (!path.empty() && path[0] == '\0') return '@' + path.substr(1);
    return path.substr(0, path.find('\0'));
  }
  return "?";
}

std::string local_name(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return describe_socket_address(reinterpret_cast<const sockaddr*>(&ss), len);
}

}  // namespace brood::os

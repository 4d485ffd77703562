#include "endpoint.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include "brood/os/address.hpp"
#include "brood/os/socket_address.hpp"
#include "errors.hpp"

namespace brood::client::detail {

std::optional<call_error> resolve_endpoint(std::string_view text, endpoint& out) {
  auto a = os::parse_address(text);
  if (!a) return bad_request_error("bad address: " + a.error().message());
  auto resolved = os::resolve_address(*a, os::resolve_for::connect);
  if (!resolved) {
    const os::status& e = resolved.error();
    if (e.code() == std::errc::filename_too_long)
      return bad_request_error(e.message() + " in \"" + std::string(text) + "\"");
    return unreachable_error(text, e.message());
  }
  std::memcpy(&out.addr, &resolved->storage, sizeof(out.addr));
  out.len = resolved->size;
  out.tcp = a->type == os::address::kind::tcp;
  return std::nullopt;
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

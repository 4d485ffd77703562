#pragma once
// Where a client connects: an address string resolved once to a socket address, and the socket
// primitives shared by the sync and async clients.
#include <sys/socket.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "brood/client/call_error.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::client::detail {

struct endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool tcp = false;  // TCP (TCP_NODELAY is set) or a unix socket

  int family() const noexcept { return addr.ss_family; }
  const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&addr); }
};

// Resolves `text` with os::parse_address and os::resolve_address (resolve_for::connect): ":port"
// means this machine (127.0.0.1), a host name is looked up with getaddrinfo (blocking, IPv4
// preferred), "@name" is a Linux abstract unix socket. Errors: bad_request for an unparsable
// address or a unix path too long; refused for a host that does not resolve.
std::optional<call_error> resolve_endpoint(std::string_view text, endpoint& out);

// Hash for heterogeneous lookup of std::string keys by std::string_view.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Resolved endpoints by address string. Failures are not cached. Not thread-safe.
class endpoint_cache {
 public:
  // On success copies the endpoint into `out` and returns nullopt.
  std::optional<call_error> get(std::string_view text, endpoint& out);

 private:
  static constexpr std::size_t max_entries = 1024;
  std::unordered_map<std::string, endpoint, string_hash, std::equal_to<>> map_;
};

// Opens a non-blocking close-on-exec stream socket for `ep` (TCP_NODELAY on TCP) into `out` and
// starts connecting. Returns 0 (connected), EINPROGRESS (pending: wait for writability, then
// read SO_ERROR), or the errno of socket()/connect() (then `out` is closed).
int start_connect(const endpoint& ep, os::unique_fd& out);

// The pending error of a connecting socket (SO_ERROR), 0 when connected.
int connect_result(int fd);

// True when an idle kept-alive connection still looks usable: no EOF and no unexpected bytes
// waiting. Never blocks.
bool idle_connection_alive(int fd);

}  // namespace brood::client::detail

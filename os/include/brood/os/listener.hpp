#pragma once
// Binding the node's listening sockets (in the master, before the workers fork).
#include <sys/types.h>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "brood/os/address.hpp"
#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {

struct bound_socket {
  address addr;      // as configured
  std::string name;  // as bound: "127.0.0.1:41234" (port 0 resolved), or the unix path
  unique_fd fd;      // listening, non-blocking, close-on-exec
};

// When a TCP connection is handed to accept(): once its first bytes are in (TCP_DEFER_ACCEPT:
// uwsgi clients send first, and a connection that sends nothing never wakes a worker), or at
// once (servers that speak first, such as a stats server).
enum class accept_when { first_bytes, connected };

// How bind_socket sets the socket up beyond its address.
struct bind_options {
  bool reuse_port = false;  // TCP: SO_REUSEPORT, so independent processes can share the port
  mode_t unix_mode = 0666;  // unix: the mode of the socket file
};

// Binds and listens on `addr` with `backlog`. TCP: SO_REUSEADDR (and SO_REUSEPORT per `opts`),
// IPv4 or IPv6 by host (empty host: all IPv4 interfaces), accepting per `when`. Unix: a stale
// socket file is unlinked first; the file is made opts.unix_mode. The address is resolved by
// resolve_address (resolve_for::bind). Errors: the errno of the failing step, or resolve_address's
// code, with a message naming the address ("cannot bind 127.0.0.1:80: Permission denied", "cannot
// bind bad..host:3031: invalid host name \"bad..host\"").
result<bound_socket> bind_socket(const address& addr, int backlog,
                                 accept_when when = accept_when::first_bytes,
                                 const bind_options& opts = {});

// True when `fd` is a socket listening for connections (SO_ACCEPTCONN).
bool is_listening_socket(int fd) noexcept;

// A listening socket handed over by the parent, as an emperor hands an on-demand vassal its
// socket on fd 0 (docs/uwsgi-compat.md §4.4): when `fd` is a listening stream socket (TCP or UNIX),
// returns it described as bind_socket would (name from getsockname), owning a duplicate
// (close-on-exec, non-blocking); `fd` itself is replaced by /dev/null. When `fd` is no listening
// stream socket: an empty optional, `fd` left alone. Error: a listening `fd` that cannot be
// described or duplicated ("cannot adopt the listening socket on fd 0: ...").
result<std::optional<bound_socket>> adopt_listening_fd(int fd);

// A listening socket received from another process (a zerg server's): described as bind_socket
// would (name from getsockname, addr parsed from it), made non-blocking (which the sender's copy
// shares). Errors: "cannot adopt the socket on fd N: not a listening stream socket"
// (invalid_argument); a family neither unix nor IP (EINVAL); getsockname or fcntl failed.
result<bound_socket> adopt_socket(unique_fd fd);

// True when the configured `addr` names the socket `s` is bound to: the same UNIX path, or the
// same TCP port and host (an empty host or "0.0.0.0" matching "0.0.0.0").
bool names_socket(const address& addr, const bound_socket& s);

}  // namespace brood::os

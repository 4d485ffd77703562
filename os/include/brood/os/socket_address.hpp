#pragma once
// Resolving a parsed address (address.hpp) into the sockaddr that bind(2) and connect(2) take,
// and describing a sockaddr as text. This is the one resolver of brood: the node's listeners,
// the emperor's on-demand sockets and the client's endpoints all go through it.
#include <sys/socket.h>

#include <string>

#include "brood/os/address.hpp"
#include "brood/os/status.hpp"

namespace brood::os {

// A socket address of any family.
struct socket_address {
  sockaddr_storage storage{};
  socklen_t size = 0;

  int family() const noexcept { return storage.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// What an address is resolved for; they differ only where the two sides of a socket do.
enum class resolve_for {
  bind,     // an empty host is every IPv4 interface (INADDR_ANY); a unix path is a file name
  connect,  // an empty host is this machine (127.0.0.1); a unix path "@name" is Linux's
            // abstract socket "name"
};

// Resolves `a`. TCP: an IPv4 or IPv6 literal (optionally in [..], IPv6 with a zone such as
// "fe80::1%eth0"), or a host name looked up with getaddrinfo (blocking; IPv4 preferred, else the
// first answer). A host that is not a plausible name (labels of letters, digits, '-' and '_'
// between single dots) is rejected without a query.
// Unix: the path, 1..107 bytes. Errors (messages without the address: callers put it in front):
//   std::errc::address_not_available  "invalid host name \"H\"",
//                                     "cannot resolve host \"H\": <gai_strerror>"
//   std::errc::filename_too_long      "unix socket path must be 1..107 bytes long (it has N)"
result<socket_address> resolve_address(const address& a, resolve_for purpose);

// "127.0.0.1:5555", "[::1]:5555", the unix path ("@name" for an abstract socket), or "?" for
// anything else (or a `len` too short for its family).
std::string describe_socket_address(const sockaddr* sa, socklen_t len);

// The address `fd` is bound to (getsockname), described as above; "?" when it cannot be read.
std::string local_name(int fd);

}  // namespace brood::os

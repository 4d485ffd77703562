#pragma once
// Binding the node's listening sockets (in the master, before the workers fork).
#include <string>
#include <system_error>
#include <vector>

#include "brood/node/address.hpp"
#include "brood/node/unique_fd.hpp"

namespace brood::node {

struct bound_socket {
  address addr;      // as configured
  std::string name;  // as bound: "127.0.0.1:41234" (port 0 resolved), or the unix path
  unique_fd fd;      // listening, non-blocking, close-on-exec
};

// Binds and listens on `addr` with `backlog`. TCP: SO_REUSEADDR, IPv4 or IPv6 by host
// (empty host: all IPv4 interfaces). Unix: a stale socket file is unlinked first; the file is
// made 0666. On failure returns an error and sets `why` ("cannot bind 127.0.0.1:80: Permission
// denied").
std::error_code bind_socket(const address& addr, int backlog, bound_socket& out, std::string& why);

}  // namespace brood::node

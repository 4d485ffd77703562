#pragma once
// The accept queue of a listening socket: how many connections wait to be accepted now and the
// backlog they may grow to (the stats' `queue`/`max_queue`, the cheaper `backlog` algorithm).
//   - TCP (IPv4, IPv6): getsockopt(TCP_INFO); Linux reports a listener's current accept queue
//     in tcpi_unacked and its backlog in tcpi_sacked.
//   - unix stream/seqpacket: a NETLINK_SOCK_DIAG UNIX_DIAG request for the socket's inode with
//     UDIAG_SHOW_RQLEN; a listener's rqueue is its pending connections, wqueue its backlog.
//     (uWSGI cannot measure these; brood can.)
// Anything else (a socket that is not listening, a datagram socket, a file, a closed fd, a
// kernel without unix_diag) is unknown: nullopt, never 0 and never an exception.
#include <cstdint>
#include <optional>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {

struct listen_queue_info {
  std::uint64_t queue = 0;  // connections waiting to be accepted
  std::uint64_t max = 0;    // the backlog (listen(2)'s, capped by net.core.somaxconn)
};

// Measures one listening socket; a unix socket costs one netlink socket opened and closed for
// the call. For repeated measures (a master, several times a second) keep a listen_queue_probe.
// Thread-safe (no shared state).
std::optional<listen_queue_info> listen_queue(int fd) noexcept;

// Keeps the netlink socket that measures unix listeners, so a query costs two system calls.
// TCP sockets are measured as listen_queue() does. Move-only; one probe is not thread-safe
// (use one per thread). Close-on-exec; a forked child should drop (reset) its copy.
class listen_queue_probe {
 public:
  // Opens the NETLINK_SOCK_DIAG socket. Error: "cannot open sock_diag netlink socket:
  // <strerror>".
  static result<listen_queue_probe> open();

  // Empty: query() measures TCP sockets only (unix ones are nullopt).
  listen_queue_probe() = default;

  // The queue of the listening socket `fd`, or nullopt when unknown (see the file comment).
  std::optional<listen_queue_info> query(int fd) noexcept;

 private:
  explicit listen_queue_probe(unique_fd netlink) : netlink_(std::move(netlink)) {}

  unique_fd netlink_;
  std::uint32_t sequence_ = 0;
};

}  // namespace brood::os

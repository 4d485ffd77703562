#pragma once
// Reading one fork request (brood/wire/fork_protocol.hpp) in the base's fork server
// (brood/node/fork_server.hpp): the header with the peer's credentials (SCM_CREDENTIALS) and its
// fds (SCM_RIGHTS), then the body, the whole bounded by one deadline. A plain function over a
// caller's connection; no state.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <vector>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/fork_protocol.hpp"

namespace brood::node {

struct received_fork_request {
  wire::fork_request request;
  std::vector<os::unique_fd> fds;  // as received (close-on-exec), in the request's order
  pid_t peer_pid = 0;              // from the credentials
};

// Reads one request from `conn`, a connected unix stream socket (non-blocking) with SO_PASSCRED
// set, until `deadline`. Accepted peers: uid `uid` and root. Anything else is an error whose
// message names what was wrong, with every fd received so far closed:
//   EACCES     no credentials with the first bytes, or a peer of another uid
//   EMSGSIZE   more than wire::max_fork_fds fds (MSG_CTRUNC included)
//   EPROTO     a header check_fork_header rejects or a body decode_fork_request rejects
//   ECONNRESET EOF before the end of the body
//   ETIMEDOUT  the deadline passed first
//   or the errno of a failed recvmsg / poll.
// The header is checked (credentials, then bytes) before the body is read. Bytes after the body
// are left unread.
os::result<received_fork_request> read_fork_request(int conn, uid_t uid,
                                                    std::chrono::steady_clock::time_point deadline);

// A connection just accepted on the fork server's socket (by the base or its warm spare): sets
// SO_PASSCRED on it and reads its request with read_fork_request (this process's effective uid,
// `io_timeout` from now). A refusal is logged, "fork server: refused a request (peer pid P):
// WHY" (P from SO_PEERCRED), with the request's fds closed: nullopt; the caller closes `conn`
// without a reply.
std::optional<received_fork_request> read_or_refuse(int conn, std::chrono::milliseconds io_timeout);

}  // namespace brood::node

#pragma once
// The fork server's warm spare (brood/node/fork_server.hpp): a grandchild forked ahead of any
// request, already re-parented to the emperor, that waits on a SOCK_SEQPACKET socketpair to the
// base (its "link") for one request. Messages on the link:
//   spare -> base  once settled: the spare's pid (a pid_t, one message): "ready"
//   base -> spare  one request: its bytes re-encoded by wire::encode_fork_request, with the
//                  emperor's connection then the request's fds (SCM_RIGHTS)
// and EOF either way when one side goes. Plain functions; single-threaded callers.
#include <sys/types.h>

#include <chrono>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"
#include "fork_server_request.hpp"

namespace brood::node {

// A fresh link: [0] the base's end, [1] the spare's; both close-on-exec. Error: socketpair's.
os::result<std::pair<os::unique_fd, os::unique_fd>> spare_link();

// In the spare: says it is ready (its pid) on `link`. False (errno set) when it cannot.
bool announce_spare(int link);

// In the base, when `link` is readable: the spare's pid once it announced itself, 0 when the
// spare is gone (EOF, an error, HUP), -1 when nothing came (a spurious wake-up).
pid_t read_spare_announce(int link);

// In the base: sends `in` (re-encoded) and `conn` then in.fds to the spare, in one message, without
// blocking. Errors: the encoding's, or send_with_fds' (the spare is gone: EPIPE, ECONNRESET).
// The caller's fds stay open either way (the spare has its own copies on success).
os::status hand_to_spare(int link, const received_fork_request& in, int conn);

// In the spare: blocks for the base's request on `link`. EOF or a failed receive (the base
// stopped): _exit(0). Too many fds (MSG_CTRUNC), no connection fd or a request that does not
// decode: logged, _exit(1). Sets `conn` to the emperor's connection.
received_fork_request await_spare_request(int link, os::unique_fd& conn);

// The pre-forked worker-to-be's readiness, on the spare-worker link (spare_link()): the
// worker-to-be sends one byte once warmed up (false when it cannot: the spare is gone); the
// spare waits for it, at most `timeout`, before it announces itself to the base, so that a
// request never finds the worker-to-be still rehearsing. False: EOF (it died), an error, or
// the timeout.
bool announce_worker_to_be(int link);
bool await_worker_to_be(int link, std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace brood::node

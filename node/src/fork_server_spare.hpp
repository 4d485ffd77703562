#pragma once
// The fork server's warm spare (brood/node/fork_server.hpp): a grandchild forked ahead of any
// request, already re-parented to the emperor, that accepts one request itself on the fork
// server's socket (the base stops accepting while it has a ready spare), so that a request
// reaches the process that will serve it without a relay. Messages on the SOCK_SEQPACKET
// socketpair between the base and its spare (the spare's "link"):
//   spare -> base  once settled: the spare's pid (a pid_t, one message): "ready"
//   spare -> base  once it accepted and answered a request: "taken:" then a summary of it for
//                  the base's log line (one message)
// and EOF either way when one side goes (the base sends nothing else). The same functions carry
// the request from the spare to its pre-forked worker-to-be (fork_server_prefork.hpp) on their
// own pair: the request's bytes re-encoded by wire::encode_fork_request with the emperor's
// connection then the request's fds (SCM_RIGHTS), in one message. Plain functions;
// single-threaded callers.
#include <sys/types.h>

#include <chrono>
#include <string>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"
#include "fork_server_request.hpp"

namespace brood::node {

// A fresh link: [0] the base's end, [1] the spare's; both close-on-exec. Error: socketpair's.
os::result<std::pair<os::unique_fd, os::unique_fd>> spare_link();

// In the spare: says it is ready (its pid) on `link`. False (errno set) when it cannot.
bool announce_spare(int link);

// In the spare, once it answered the request it accepted: tells the base ("taken:" + `summary`).
// False when it cannot (the base is gone).
bool report_taken(int link, const std::string& summary);

// What the base read on `link` when it was readable.
struct spare_message {
  enum class kind { none, ready, taken, gone } what = kind::none;  // none: a spurious wake-up
  pid_t pid = 0;                                                   // ready: the spare's pid
  std::string summary;  // taken: the spare's summary of the request
};
// In the base: ready, taken, or gone (EOF, an error, HUP, a message of neither form).
spare_message read_spare_message(int link);

// In the spare once it announced itself: waits for a request on the fork server's `listener`
// (non-blocking) and reads it with read_or_refuse (`io_timeout` each); a refused one is logged
// and closed, and it waits again. Returns the first valid request, `conn` set to its connection.
// Anything readable on `link` (EOF: the base stopped) ends the spare with _exit(0). An accept that
// fails for lack of resources is logged and retried 100 ms later.
received_fork_request await_direct_request(int listener, int link,
                                           std::chrono::milliseconds io_timeout,
                                           os::unique_fd& conn);

// In the spare: sends `in` (re-encoded) and `conn` then in.fds to its worker-to-be over `link`, in
// one message, without blocking. Errors: the encoding's, or send_with_fds' (the peer is gone:
// EPIPE, ECONNRESET). The caller's fds stay open either way (the peer has its own copies on
// success).
os::status hand_to_spare(int link, const received_fork_request& in, int conn);

// In the worker-to-be: blocks for the request on `link`. EOF or a failed receive (its spare
// dismissed it or is gone): _exit(0). Too many fds (MSG_CTRUNC), no connection fd or a request
// that does not decode: logged, _exit(1). Sets `conn` to the emperor's connection.
received_fork_request await_spare_request(int link, os::unique_fd& conn);

// The pre-forked worker-to-be's readiness, on the spare-worker link (spare_link()): the
// worker-to-be sends one byte once warmed up (false when it cannot: the spare is gone); the
// spare waits for it, at most `timeout`, before it announces itself to the base, so that a
// request never finds the worker-to-be still rehearsing. False: EOF (it died), an error, or
// the timeout.
bool announce_worker_to_be(int link);
bool await_worker_to_be(int link, std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace brood::node

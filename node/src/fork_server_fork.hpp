#pragma once
// The double fork of one fork request and the adopted vassal's set-up in the grandchild
// (brood/node/fork_server.hpp). Plain functions; single-threaded callers.
#include <sys/types.h>

#include <chrono>

#include "brood/node/fork_server.hpp"
#include "brood/os/unique_fd.hpp"
#include "fork_server_request.hpp"

namespace brood::node {

struct fork_outcome {
  bool adopted = false;     // true in the grandchild (the adopted vassal), false in the base
  bool forked = false;      // in the base: the intermediate child forked the grandchild (exit 0)
  pid_t intermediate = -1;  // the intermediate child's pid (-1 when the first fork failed)
};

// In the base: hooks.before_fork, fork, hooks.after_fork_parent, then waits for the intermediate
// child (it exits at once) and returns {adopted = false}; a failed fork is logged. In the
// intermediate child: forks again and _exit(0) (_exit(1) when that fork fails, logged); it runs
// no hook and no destructor. In the grandchild: hooks.after_fork_child, then returns
// {adopted = true}. Empty hooks are skipped.
fork_outcome fork_twice(const fork_server_hooks& hooks);

// In the grandchild, after fork_twice and once the base's own fds are closed: moves the request's
// fds above 2, exports them (UWSGI_EMPEROR_FD, UWSGI_EMPEROR_FD_CONFIG, the on-demand socket
// dup'ed onto fd 0, BROOD_INHERITED_SOCKETS; the exported ones lose close-on-exec, as fds of an
// exec'd vassal), unsets UWSGI_RELOADS and NOTIFY_SOCKET, applies the request's environment
// changes, leaves the signals as an exec would (caught ones back to their default, ignored ones
// still ignored but SIGCHLD, an empty mask), writes the reply
// (pid=getpid()) on `conn` by `deadline` and closes it, then waits (up to 1 s) to be re-parented
// away from `intermediate`, sets PR_SET_PDEATHSIG SIGKILL and checks that its parent is
// `emperor`. _exit(1) (logged) when the reply cannot be written or the parent is not `emperor`.
// settle_adopted_vassal in three steps, for the warm spare (fork_server_spare.hpp), which awaits
// its emperor parent when it is created and exports a request only when it gets one:
// export_request_and_reply: everything up to the reply written and `conn` closed (_exit(1),
// logged, when the reply cannot be written); await_emperor_parent: the re-parent wait, PDEATHSIG
// and the parent check (_exit(1), logged as `who`); log_adopted: the vassal's "adopted vassal" log
// line.
void export_request_and_reply(received_fork_request& in, os::unique_fd conn,
                              std::chrono::steady_clock::time_point deadline);
// export_request_and_reply without the reply (the pre-forked worker: fork_server_prefork.hpp).
void export_request(received_fork_request& in);
void await_emperor_parent(pid_t intermediate, pid_t emperor, const char* who);
// In a warm spare or its worker-to-be, once warmed up and before it announces itself ready: its
// signals left as export_request leaves them (about 130 system calls), off the request's path;
// export_request skips that step in this process. REQUIRES: nothing in this process changes a
// signal's disposition or the mask between this call and export_request.
void settle_signals_ahead();
void log_adopted(const wire::fork_request& r);

void settle_adopted_vassal(received_fork_request& in, os::unique_fd conn, pid_t intermediate,
                           pid_t emperor, std::chrono::steady_clock::time_point deadline);

}  // namespace brood::node

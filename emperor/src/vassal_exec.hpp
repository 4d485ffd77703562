#pragma once
// What a vassal's process does between its creation and exec (docs/uwsgi-compat.md §4.2).
// Everything it needs is prepared in the parent (exec_plan), so the child only makes system calls:
// it is created with vfork (it shares the emperor's memory until it execs, so the emperor's page
// tables are not copied for each vassal and its pages are not made copy-on-write).
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "brood/emperor/launcher.hpp"

namespace brood::emperor {

// uWSGI's EXILE: the exit status of a vassal whose program could not be started.
inline constexpr int exec_failed_status = 26;

struct exec_plan {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V", the whole environment of the vassal
  std::vector<char*> argv;       // into args, null-terminated
  std::vector<char*> envp;       // into env, null-terminated
  int channel_fd = -1;           // the vassal's end of the channel (>= 3)
  int stdin_fd = -1;             // dup'ed onto 0; -1: /dev/null
  pid_t parent = 0;              // the launching process (death-signal race check)
  std::optional<int> nice;       // the child's nice value (setpriority before exec)
  std::string exec_error;        // "[brood emperor] cannot exec PROG: " (errno text follows)
};

// Builds the plan for `spec` with the vassal's channel end `channel_fd`: the environment is the
// current one minus spec.unset, with spec.set applied and UWSGI_EMPEROR_FD=<channel_fd>.
// REQUIRES: !spec.argv.empty().
exec_plan make_exec_plan(const launch_spec& spec, int channel_fd);

// In the forked child: PR_SET_PDEATHSIG=SIGKILL (exits 26 if the parent is already gone),
// default signal dispositions and an empty signal mask, stdin set up, every fd >= 3 but the
// channel closed, the channel made inheritable, then execvpe. Never returns: on failure writes
// one line to stderr and _exit(26). The process group and session are the emperor's (no
// setsid), so a terminal's Ctrl-C reaches the vassals as with uWSGI.
[[noreturn]] void exec_vassal(const exec_plan& plan) noexcept;

// Starts the vassal's process: vfork, then exec_vassal(plan) in the child; returns when the child
// has exec'd or exited (26). Every signal is blocked in the calling thread meanwhile. Returns the
// child's pid, or -1 with errno set when no process could be created.
pid_t spawn_vassal(const exec_plan& plan) noexcept;

}  // namespace brood::emperor

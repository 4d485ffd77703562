#pragma once
// Commands of the legion's hooks and attach daemons: `/bin/sh -c COMMAND` run as a grandchild of
// this process (a double fork), so that an owner reaping every child with waitpid(-1) (the node
// master, the emperor) never takes its exit; it is watched through a pidfd instead. The shell
// leads a process group of its own (signalled as a whole), with the signal mask and dispositions
// reset, stdin on /dev/null, fds above 2 closed, stdout/stderr shared with this process.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "brood/os/unique_fd.hpp"

namespace brood::legion {

struct detached_process {
  pid_t pid = -1;
  os::unique_fd pidfd;  // readable once the shell exited
};

// `extra_env`: "NAME=VALUE" strings added to (or replacing in) this process's environment.
// nullopt and `error` set when the forks or pidfd_open fail. Thread-safe.
std::optional<detached_process> spawn_detached(const std::string& command,
                                               const std::vector<std::string>& extra_env,
                                               std::string& error);

// Waits until `p` exits or `timeout` passes; true when it has exited (0: just checks).
bool wait_exit(const detached_process& p, std::chrono::milliseconds timeout);

// Sends `sig` to the process group `p` leads (the shell and what it started).
void signal_group(const detached_process& p, int sig);

}  // namespace brood::legion

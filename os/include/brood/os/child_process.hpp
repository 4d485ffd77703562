#pragma once
// Forking and reaping the processes a master manages.
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "brood/os/status.hpp"

namespace brood::os {

// Forks. In the child runs `body` and ends the process with _exit(its result) (1 when it throws),
// flushing stdio first; no destructor of the parent's objects runs there. In the parent returns
// the child's pid. Error: fork(2)'s errno, "cannot fork: <strerror>". REQUIRES: the calling
// process is single-threaded, or `body` only uses what is safe after fork in a multi-threaded
// process.
result<pid_t> fork_child(const std::function<int()>& body);

// Reaps one exited child without blocking: its pid and wait status, or pid 0 when none has
// exited (or no child is left).
struct reaped_child {
  pid_t pid = 0;
  int status = 0;
};
reaped_child reap_one() noexcept;

// "exited with status 3" / "killed by signal 9 (Killed)" / "killed by signal 11 (Segmentation
// fault), core dumped".
std::string describe_exit(int wait_status);

// The path of the running program (/proc/self/exe resolved). Error: "cannot read
// /proc/self/exe: <strerror>".
result<std::string> self_exe();

// The process's environment as "K=V" strings, in order.
std::vector<std::string> environment_strings();

}  // namespace brood::os

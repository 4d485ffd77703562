#pragma once
// This process's pid without a system call per use: cached, and refreshed in every child made by
// fork() (a pthread_atfork handler, registered on first use; brood makes its processes with
// fork() only). Thread-safe.
#include <sys/types.h>

namespace brood::spooler {

pid_t current_pid() noexcept;

}  // namespace brood::spooler

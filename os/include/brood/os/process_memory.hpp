#pragma once
// A process's memory as /proc/PID/statm reports it, in bytes: for the stats (rss, vsz) and the
// cheaper RSS limits. Linux only.
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace brood::os {

struct process_memory {
  std::uint64_t rss = 0;  // resident set size
  std::uint64_t vsz = 0;  // virtual size
};

// nullopt when the process is gone (or /proc cannot be read).
std::optional<process_memory> read_process_memory(pid_t pid) noexcept;

}  // namespace brood::os

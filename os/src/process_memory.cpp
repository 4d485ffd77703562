// read_process_memory: /proc/PID/statm (pages) in bytes.
#include "brood/os/process_memory.hpp"

#include <unistd.h>

#include <fstream>
#include <string>

namespace brood::os {

std::optional<process_memory> read_process_memory(pid_t pid) noexcept {
  if (pid <= 0) return std::nullopt;
  try {
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    if (!(statm >> size >> resident)) return std::nullopt;
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return process_memory{resident * page, size * page};
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace brood::os

#pragma once
// This process's memory mappings as /proc/self/maps lists them: for the fork server's page-table
// and page writes ahead (page_map.hpp, node's fork_server_text). Linux only.
#include <cstdint>
#include <vector>

namespace brood::os {

struct self_mapping {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  char perms[5] = {};  // "rw-p", "r-xp"...
  bool file = false;   // backed by a file with a path (not anonymous, [vdso], [stack]...)
};

// Ascending, as the kernel lists them; empty when /proc/self/maps cannot be read. A line whose
// path is longer than the reader's buffer is read whole (its path is not kept).
std::vector<self_mapping> self_mappings();

}  // namespace brood::os

// share_code_page_tables (fork_server_text.hpp).
#include "fork_server_text.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "brood/os/self_maps.hpp"

namespace brood::node {
namespace {

struct mapping {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  int prot = 0;
};

// The private file mappings that are readable and not writable.
std::vector<mapping> read_only_file_mappings() {
  std::vector<mapping> out;
  for (const os::self_mapping& m : os::self_mappings()) {
    const char* perms = m.perms;
    if (!m.file || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p') continue;
    out.push_back({m.begin, m.end, PROT_READ | (perms[2] == 'x' ? PROT_EXEC : 0)});
  }
  return out;
}

bool strict_overcommit() {
  std::FILE* f = std::fopen("/proc/sys/vm/overcommit_memory", "re");
  if (!f) return false;
  int mode = 0;
  const bool read = std::fscanf(f, "%d", &mode) == 1;
  std::fclose(f);
  return read && mode == 2;
}

}  // namespace

text_sharing share_code_page_tables() {
  text_sharing out;
  // Written through /proc/self/mem (as a debugger writes a breakpoint): the kernel copies the
  // page into an anonymous one without changing the mapping's protection or its commit charge,
  // and a byte that cannot be read (a file truncated under its mapping) is an error, not a
  // SIGBUS. A kernel that refuses such writes (proc_mem.force_override=never) gets the mprotect
  // way, except under strict overcommit.
  const int mem = ::open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  std::optional<bool> strict;
  for (const mapping& m : read_only_file_mappings()) {
    unsigned char byte = 0;
    const auto at = static_cast<off_t>(m.begin);
    if (mem >= 0 && ::pread(mem, &byte, 1, at) == 1) {
      if (::pwrite(mem, &byte, 1, at) == 1) {
        ++out.mappings;
        continue;
      }
    } else if (mem >= 0) {
      ++out.failed;  // unreadable: left alone
      continue;
    }
    if (!strict) strict = strict_overcommit();
    if (*strict) {
      out.strict_overcommit = true;
      ++out.failed;
      continue;
    }
    void* addr = reinterpret_cast<void*>(m.begin);
    const std::size_t len = m.end - m.begin;
    if (::mprotect(addr, len, m.prot | PROT_WRITE) != 0) {
      ++out.failed;
      continue;
    }
    auto* first = reinterpret_cast<volatile unsigned char*>(m.begin);
    *first = *first;
    ::mprotect(addr, len, m.prot);
    ++out.mappings;
  }
  if (mem >= 0) ::close(mem);
  return out;
}

}  // namespace brood::node

// share_code_page_tables (fork_server_text.hpp).
#include "fork_server_text.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

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
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (!maps) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, maps)) {
    unsigned long begin = 0, end = 0, offset = 0, inode = 0;
    char perms[5] = {};
    char dev[16] = {};
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %4s %lx %15s %lu %n", &begin, &end, perms, &offset, dev, &inode,
                    &path_at) < 6)
      continue;
    const char* path = line + path_at;
    if (inode == 0 || path[0] != '/') continue;  // anonymous, [vdso], [stack]...
    if (perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p') continue;
    mapping m{begin, end, PROT_READ | (perms[2] == 'x' ? PROT_EXEC : 0)};
    out.push_back(m);
  }
  std::fclose(maps);
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

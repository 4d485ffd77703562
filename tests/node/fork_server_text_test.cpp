// share_code_page_tables (node/src/fork_server_text.hpp): the read-only file mappings keep their
// protection and content, and a child forked afterwards finds the parent's code pages mapped.
#include "fork_server_text.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace brood::node {
namespace {

struct file_mapping {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  std::string perms;
  std::string path;
  bool operator==(const file_mapping&) const = default;
};

std::vector<file_mapping> file_mappings() {
  std::vector<file_mapping> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long begin = 0, end = 0;
    char perms[5] = {};
    int at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %*x %*s %*u %n", &begin, &end, perms, &at) < 3)
      continue;
    const std::string path = line.substr(static_cast<std::size_t>(at));
    if (path.empty() || path[0] != '/') continue;
    out.push_back({begin, end, perms, path});
  }
  return out;
}

// Whether the page holding `address` is present in this process's page table.
bool page_present(const void* address) {
  const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::uint64_t entry = 0;
  const auto page = reinterpret_cast<std::uintptr_t>(address) /
                    static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const bool read = ::pread(fd, &entry, sizeof entry, static_cast<off_t>(page * sizeof entry)) ==
                    static_cast<ssize_t>(sizeof entry);
  ::close(fd);
  return read && (entry >> 63) != 0;
}

TEST(ForkServerText, KeepsEveryMappingsProtectionAndContent) {
  const std::vector<file_mapping> before = file_mappings();
  std::vector<std::string> first_pages;
  for (const file_mapping& m : before)
    if (m.perms[0] == 'r' && m.perms[1] == '-')
      first_pages.emplace_back(reinterpret_cast<const char*>(m.begin), 64);
  const text_sharing shared = share_code_page_tables();
  EXPECT_GT(shared.mappings, 0u);
  EXPECT_EQ(shared.failed, 0u);
  const std::vector<file_mapping> after = file_mappings();
  // The same mappings with the same protection (a mapping may only have been split or merged
  // differently: compare the protection of every byte range of `before`).
  for (const file_mapping& m : before) {
    bool covered = false;
    for (const file_mapping& a : after)
      if (a.begin <= m.begin && m.begin < a.end) {
        EXPECT_EQ(a.perms, m.perms) << m.path;
        covered = true;
      }
    EXPECT_TRUE(covered) << m.path;
  }
  std::size_t i = 0;
  for (const file_mapping& m : before) {
    if (m.perms[0] == 'r' && m.perms[1] == '-') {
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.begin), 64), first_pages[i++])
          << m.path;
    }
  }
}

TEST(ForkServerText, AChildFindsTheParentsCodeMapped) {
  share_code_page_tables();
  // A libc function this process has run, on a page the child does not run before looking.
  EXPECT_LT(::strverscmp("a1", "a2"), 0);
  const void* code = reinterpret_cast<const void*>(&::strverscmp);
  ASSERT_TRUE(page_present(code));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(page_present(code) ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child had to fault the parent's code page in";
}

}  // namespace
}  // namespace brood::node

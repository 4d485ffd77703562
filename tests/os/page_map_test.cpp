// page_map: the pages a forked child owns alone (written since the fork) and writing pages ahead,
// checked in forked children of this test process (each child reports through its exit status).
#include "brood/os/page_map.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>

#include <gtest/gtest.h>

namespace brood::os {
namespace {

constexpr std::size_t pages_in_buffer = 64;

class page_map_test : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    void* at = ::mmap(nullptr, pages_in_buffer * page_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(at, MAP_FAILED);
    buffer_ = static_cast<unsigned char*>(at);
    std::memset(buffer_, 7, pages_in_buffer * page_);  // present before the fork
  }
  void TearDown() override { ::munmap(buffer_, pages_in_buffer * page_); }

  std::uintptr_t page_at(std::size_t i) const {
    return reinterpret_cast<std::uintptr_t>(buffer_) + i * page_;
  }
  bool listed(const std::vector<std::uintptr_t>& pages, std::size_t i) const {
    return std::binary_search(pages.begin(), pages.end(), page_at(i));
  }

  // Runs `body` in a forked child; its exit status (0 = passed) is returned.
  static int in_child(const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  }

  // Linux >= 5.14: madvise knows MADV_POPULATE_WRITE.
  bool can_populate() const {
    return ::madvise(buffer_, page_, 23 /* MADV_POPULATE_WRITE */) == 0 || errno != EINVAL;
  }

  std::size_t page_ = 4096;
  unsigned char* buffer_ = nullptr;
};

TEST_F(page_map_test, AChildOwnsThePagesItWroteOnly) {
  EXPECT_EQ(in_child([this] {
              for (std::size_t i = 0; i < 10; ++i) buffer_[i * page_ + 1] = 9;
              const std::vector<std::uintptr_t> pages = exclusive_pages(1u << 20);
              if (!std::is_sorted(pages.begin(), pages.end())) return 1;
              for (std::size_t i = 0; i < 10; ++i)
                if (!listed(pages, i)) return 2;
              for (std::size_t i = 10; i < pages_in_buffer; ++i)
                if (listed(pages, i)) return 3;  // still shared with the parent
              return exclusive_pages(3).size() == 3 ? 0 : 4;
            }),
            0);
}

TEST_F(page_map_test, WritingAheadMakesPagesOwnedWithTheirContents) {
  if (!can_populate()) GTEST_SKIP() << "no MADV_POPULATE_WRITE in this kernel";
  EXPECT_EQ(in_child([this] {
              std::vector<std::uintptr_t> ahead;
              for (std::size_t i = 20; i < 30; ++i) ahead.push_back(page_at(i));
              ahead.push_back(page_at(40));
              if (write_ahead(ahead) != ahead.size()) return 1;
              const std::vector<std::uintptr_t> pages = exclusive_pages(1u << 20);
              for (std::uintptr_t p : ahead)
                if (!std::binary_search(pages.begin(), pages.end(), p)) return 2;
              if (listed(pages, 30) || listed(pages, 0)) return 3;
              for (std::size_t i = 0; i < pages_in_buffer * page_; ++i)
                if (buffer_[i] != 7) return 4;  // contents unchanged
              return 0;
            }),
            0);
  EXPECT_EQ(buffer_[25 * page_], 7);  // the parent's pages are its own
}

TEST_F(page_map_test, PagesOutsidePrivateWritableMappingsAreSkipped) {
  if (!can_populate()) GTEST_SKIP() << "no MADV_POPULATE_WRITE in this kernel";
  void* ro = ::mmap(nullptr, page_, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(ro, MAP_FAILED);
  std::vector<std::uintptr_t> ahead{reinterpret_cast<std::uintptr_t>(ro), page_at(5)};
  std::sort(ahead.begin(), ahead.end());
  EXPECT_EQ(in_child([&] { return write_ahead(ahead) == 1 ? 0 : 1; }), 0);
  ::munmap(ro, page_);
  EXPECT_EQ(write_ahead({}), 0u);
}

}  // namespace
}  // namespace brood::os

// spool_share: every file belongs to exactly one process of a dir, the shares are about even
// over task file names, another process's file is taken steal_after later, and a process's share
// is its rank among the board's slots on the same dir.
#include <gtest/gtest.h>

#include <string>

#include "brood/spooler/spooler.hpp"
#include "spool_share.hpp"

namespace brood::spooler {
namespace {

using namespace std::chrono_literals;

std::string task_name(int i) {
  return "/spool/uwsgi_spoolfile_on_host_1234_" + std::to_string(i) + "_1765000000_" +
         std::to_string(i * 7919);
}

TEST(spool_share, EveryFileIsOneProcessesAndTheSharesAreAboutEven) {
  constexpr int files = 3000;
  for (std::size_t count : {1u, 2u, 3u}) {
    std::vector<int> owned(count, 0);
    for (int i = 0; i < files; ++i) {
      int owners = 0;
      for (std::size_t k = 0; k < count; ++k)
        if (spool_share(k, count, 20ms).mine(task_name(i))) {
          ++owners;
          ++owned[k];
        }
      ASSERT_EQ(owners, 1) << task_name(i) << " of " << count;
    }
    for (std::size_t k = 0; k < count; ++k) {
      EXPECT_GT(owned[k], files / static_cast<int>(count) * 8 / 10) << k << " of " << count;
      EXPECT_LT(owned[k], files / static_cast<int>(count) * 12 / 10) << k << " of " << count;
    }
  }
}

TEST(spool_share, OnlyTheNameCounts) {
  const spool_share s(0, 2, 20ms);
  for (int i = 0; i < 50; ++i) {
    const std::string name = task_name(i).substr(task_name(i).rfind('/') + 1);
    EXPECT_EQ(s.mine("/a/" + name), s.mine("/b/7/" + name));
    EXPECT_EQ(s.mine(name), s.mine("/a/" + name));
  }
}

// ... rounded up to a multiple of steal_after, so that one wake-up takes a period's files.
TEST(spool_share, AnotherProcesssFileIsTakenStealAfterLaterOnItsGrid) {
  const spool_share a(0, 2, 25ms), b(1, 2, 25ms);
  using tp = std::chrono::system_clock::time_point;
  const tp grid(std::chrono::system_clock::now().time_since_epoch() / 25ms * 25ms);
  for (int i = 0; i < 20; ++i) {
    const std::string f = task_name(i);
    const spool_share& owner = a.mine(f) ? a : b;
    const spool_share& other = a.mine(f) ? b : a;
    for (const auto due : {grid + 1ms, grid + 24ms, grid + 25ms}) {
      EXPECT_EQ(owner.take_at(f, due), due);
      const tp at = other.take_at(f, due);
      EXPECT_GE(at, due + 25ms);
      EXPECT_LT(at, due + 50ms);
      EXPECT_EQ(at.time_since_epoch() % 25ms, tp::duration::zero());
    }
    EXPECT_EQ(other.take_at(f, grid + 25ms), grid + 50ms);
  }
}

TEST(spool_share, TheShareIsTheSlotsRankAmongTheSlotsOfItsDir) {
  const spooler_board board({"/x", "/y", "/x", "/x", "/y"});
  const std::string f = task_name(1);
  // /x: slots 0, 2, 3 (shares 0, 1, 2 of 3); /y: slots 1, 4 (shares 0, 1 of 2).
  const std::size_t x_slots[] = {0, 2, 3}, y_slots[] = {1, 4};
  for (std::size_t k = 0; k < 3; ++k)
    EXPECT_EQ(spool_share::of_slot(board, x_slots[k], 20ms).mine(f),
              spool_share(k, 3, 20ms).mine(f));
  for (std::size_t k = 0; k < 2; ++k)
    EXPECT_EQ(spool_share::of_slot(board, y_slots[k], 20ms).mine(f),
              spool_share(k, 2, 20ms).mine(f));
  EXPECT_TRUE(spool_share::of_slot(spooler_board({"/z"}), 0, 20ms).mine(f));
}

}  // namespace
}  // namespace brood::spooler

// dir_watch: the spooler's reading of inotify events (task files, priority subdirs and their
// ranks, what is not a task), on the os inotify watcher.
#include "dir_watch.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "brood/wire/spool_file.hpp"
#include "spool_queue.hpp"
#include "temp_dir.hpp"

namespace brood::spooler {
namespace {

class dir_watch_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = dir_watch::open(dir_.path());
    ASSERT_TRUE(w) << w.error().message();
    watch_ = std::move(*w);
  }

  static void write_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }

  // Waits up to 2 s for events, then returns what is pending.
  std::vector<dir_watch::event> wait_events() {
    pollfd p{watch_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return {};
    return watch_.read_events();
  }

  std::string task_name(const char* suffix) const {
    return std::string(wire::spool_file_prefix) + suffix;
  }

  testing::temp_dir dir_{"brood_dir_watch_"};
  dir_watch watch_;
};

TEST_F(dir_watch_test, ATaskFileInTheDirHasTheRootRank) {
  write_file(dir_ / task_name("a"));
  auto events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, dir_watch::event::kind::task);
  EXPECT_EQ(events[0].path, dir_ / task_name("a"));
  EXPECT_EQ(events[0].rank, spool_queue::root_rank);
}

TEST_F(dir_watch_test, OtherFilesAreNoTasks) {
  write_file(dir_ / "notes.txt");
  write_file(dir_ / task_name("b"));
  auto events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].path, dir_ / task_name("b"));
}

TEST_F(dir_watch_test, APrioritySubdirIsReportedThenItsTasksCarryItsRank) {
  const std::string sub = dir_ / "5";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir_ / "not-a-priority").c_str(), 0755), 0);
  auto events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, dir_watch::event::kind::subdir);
  EXPECT_EQ(events[0].path, sub);
  EXPECT_EQ(events[0].rank, 5u);
  ASSERT_TRUE(watch_.watch_subdir(sub, 5));
  EXPECT_TRUE(watch_.watch_subdir(sub, 5));  // idempotent
  write_file(sub + "/" + task_name("c"));
  events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, dir_watch::event::kind::task);
  EXPECT_EQ(events[0].path, sub + "/" + task_name("c"));
  EXPECT_EQ(events[0].rank, 5u);
}

TEST_F(dir_watch_test, AMissingDirCannotBeWatched) {
  auto w = dir_watch::open(dir_ / "missing");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(w.error().message().find(dir_ / "missing"), std::string::npos);
  dir_watch empty;
  EXPECT_EQ(empty.fd(), -1);
  EXPECT_FALSE(empty.watch_subdir(dir_.path(), 1));
  EXPECT_TRUE(empty.read_events().empty());
}

}  // namespace
}  // namespace brood::spooler

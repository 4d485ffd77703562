// os::inotify_watcher: events of a watched dir, names, several watches, overflow-free draining,
// and the errors of watching what is not there.
#include "brood/os/inotify.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace brood::os {
namespace {

class inotify_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = inotify_watcher::open();
    ASSERT_TRUE(w) << w.error().message();
    watcher_ = std::move(*w);
  }

  static void write_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("x", f);
    std::fclose(f);
  }

  // Waits up to 2 s for the fd to be readable, then reads what is pending.
  std::vector<inotify_watcher::event> wait_events() {
    pollfd p{watcher_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return {};
    return watcher_.read_events();
  }

  testing::temp_dir dir_{"brood_inotify_"};
  inotify_watcher watcher_;
};

TEST_F(inotify_test, OpenGivesANonBlockingCloseOnExecFd) {
  ASSERT_GE(watcher_.fd(), 0);
  EXPECT_TRUE(static_cast<bool>(watcher_));
  EXPECT_TRUE(::fcntl(watcher_.fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(watcher_.fd(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(watcher_.read_events().empty());  // nothing yet, and no blocking
}

TEST_F(inotify_test, AClosedFileIsReportedWithItsName) {
  auto wd = watcher_.add(dir_.path(), IN_CLOSE_WRITE | IN_MOVED_TO);
  ASSERT_TRUE(wd) << wd.error().message();
  write_file(dir_ / "task_1");
  auto events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].wd, *wd);
  EXPECT_TRUE(events[0].mask & IN_CLOSE_WRITE);
  EXPECT_EQ(events[0].name, "task_1");
}

TEST_F(inotify_test, ARenameIntoPlaceIsMovedTo) {
  ASSERT_TRUE(watcher_.add(dir_.path(), IN_MOVED_TO));
  const std::string outside = dir_.path() + "_outside";
  write_file(outside);
  ASSERT_EQ(std::rename(outside.c_str(), (dir_ / "renamed").c_str()), 0);
  auto events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].mask & IN_MOVED_TO);
  EXPECT_EQ(events[0].name, "renamed");
}

TEST_F(inotify_test, WatchesAreToldApartAndAddingTwiceIsOneWatch) {
  const std::string sub = dir_ / "7";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  auto root = watcher_.add(dir_.path(), IN_CLOSE_WRITE);
  auto child = watcher_.add(sub, IN_CLOSE_WRITE);
  ASSERT_TRUE(root && child);
  EXPECT_NE(*root, *child);
  auto again = watcher_.add(sub, IN_CLOSE_WRITE);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *child);
  write_file(sub + "/a");
  auto events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].wd, *child);
  EXPECT_EQ(events[0].name, "a");
}

TEST_F(inotify_test, ANewSubdirIsReportedAsADir) {
  ASSERT_TRUE(watcher_.add(dir_.path(), IN_CREATE | IN_ONLYDIR));
  ASSERT_EQ(::mkdir((dir_ / "3").c_str(), 0755), 0);
  auto events = wait_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].mask & IN_ISDIR);
  EXPECT_EQ(events[0].name, "3");
}

TEST_F(inotify_test, RemovingTheDirEndsItsWatch) {
  auto wd = watcher_.add(dir_.path(), IN_CLOSE_WRITE);
  ASSERT_TRUE(wd);
  ASSERT_EQ(::rmdir(dir_.path().c_str()), 0);
  auto events = wait_events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().wd, *wd);
  EXPECT_TRUE(events.back().mask & IN_IGNORED);
  EXPECT_EQ(events.back().name, "");
}

TEST_F(inotify_test, DrainDiscardsWhatIsPending) {
  ASSERT_TRUE(watcher_.add(dir_.path(), IN_CLOSE_WRITE));
  for (int i = 0; i < 5; ++i) write_file(dir_ / "f" + std::to_string(i));
  pollfd p{watcher_.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  watcher_.drain();
  EXPECT_TRUE(watcher_.read_events().empty());
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

TEST_F(inotify_test, WatchingAMissingDirNamesIt) {
  const std::string missing = dir_ / "no/such";
  auto wd = watcher_.add(missing, IN_CLOSE_WRITE);
  ASSERT_FALSE(wd);
  EXPECT_EQ(wd.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(wd.error().message().rfind("cannot watch " + missing + ": ", 0), 0u)
      << wd.error().message();
}

TEST_F(inotify_test, AnEmptyWatcherWatchesNothing) {
  inotify_watcher empty;
  EXPECT_EQ(empty.fd(), -1);
  EXPECT_FALSE(static_cast<bool>(empty));
  EXPECT_TRUE(empty.read_events().empty());
  empty.drain();
  auto wd = empty.add(dir_.path(), IN_CLOSE_WRITE);
  ASSERT_FALSE(wd);
  EXPECT_EQ(wd.error().code(), std::errc::bad_file_descriptor);
}

TEST_F(inotify_test, AMovedWatcherKeepsItsWatches) {
  ASSERT_TRUE(watcher_.add(dir_.path(), IN_CLOSE_WRITE));
  inotify_watcher moved = std::move(watcher_);
  EXPECT_EQ(watcher_.fd(), -1);  // NOLINT: the moved-from state is specified (empty)
  write_file(dir_ / "x");
  pollfd p{moved.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  auto events = moved.read_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "x");
}

}  // namespace
}  // namespace brood::os

// vassal_monitor: dir and glob sources in temp dirs, the scan diff, on-demand addresses, and
// the inotify wake-up.
#include "brood/emperor/monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace brood::emperor {
namespace {

std::vector<std::string> names(const std::vector<vassal_file>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name);
  return out;
}

class monitor_test : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& text = "[uwsgi]\n") {
    std::ofstream(dir_ / name) << text;
  }
  // Sets the mtime of `name` to `sec`.`nsec`.
  void set_mtime(const std::string& name, time_t sec, long nsec) {
    timespec times[2] = {{sec, nsec}, {sec, nsec}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ / name).c_str(), times, 0), 0);
  }

  testing::temp_dir dir_{"brood-monitor-"};
};

TEST(is_vassal_name, ExtensionsAndLength) {
  for (const char* ok : {"a.ini", "a.xml", "a.yml", "a.yaml", "a.js", "a.json"})
    EXPECT_TRUE(is_vassal_name(ok)) << ok;
  for (const char* bad : {"a.txt", "a.ini~", "a.ini.socket", "ini", "a.INI"})
    EXPECT_FALSE(is_vassal_name(bad)) << bad;
  EXPECT_TRUE(is_vassal_name(std::string(250, 'x') + ".ini"));   // 254 characters
  EXPECT_FALSE(is_vassal_name(std::string(251, 'x') + ".ini"));  // 255 characters
}

TEST_F(monitor_test, DirSourceReportsAddedChangedRemoved) {
  write("a.ini");
  write("b.ini");
  write("notes.txt");
  std::filesystem::create_directory(dir_ / "dir.ini");  // not a regular file
  vassal_monitor m({dir_.path() + "/"}, "", "");
  auto first = m.scan();
  EXPECT_EQ(names(first.added), (std::vector<std::string>{"a.ini", "b.ini"}));
  ASSERT_EQ(first.added.size(), 2u);
  EXPECT_EQ(first.added[0].path, dir_ / "a.ini");
  EXPECT_EQ(first.added[0].monitor, dir_.path() + "/");
  EXPECT_EQ(first.added[0].on_demand, "");
  EXPECT_TRUE(first.changed.empty());
  EXPECT_TRUE(first.removed.empty());

  auto idle = m.scan();
  EXPECT_TRUE(idle.added.empty() && idle.changed.empty() && idle.removed.empty());

  set_mtime("a.ini", 2000000000, 0);
  std::filesystem::remove(dir_ / "b.ini");
  write("c.ini");
  auto next = m.scan();
  EXPECT_EQ(names(next.added), std::vector<std::string>{"c.ini"});
  EXPECT_EQ(names(next.changed), std::vector<std::string>{"a.ini"});
  ASSERT_EQ(next.changed.size(), 1u);
  EXPECT_EQ(next.changed[0].mtime, 2000000000);
  EXPECT_EQ(next.removed, std::vector<std::string>{"b.ini"});
}

TEST_F(monitor_test, TwoTouchesWithinOneSecondAreTwoChanges) {
  write("a.ini");
  set_mtime("a.ini", 2000000000, 100);
  vassal_monitor m({dir_.path()}, "", "");
  EXPECT_EQ(m.scan().added.size(), 1u);
  set_mtime("a.ini", 2000000000, 200);
  auto changes = m.scan();
  EXPECT_EQ(names(changes.changed), std::vector<std::string>{"a.ini"});
  EXPECT_EQ(changes.changed.at(0).mtime, 2000000000);
  EXPECT_TRUE(m.scan().changed.empty());
}

TEST_F(monitor_test, GlobSourceNamesAreThePaths) {
  write("a.ini");
  write("b.ini");
  write("c.xml");
  write("d.txt");
  const std::string pattern = dir_ / "*.ini";
  vassal_monitor m({pattern, dir_ / "d.*"}, "", "");
  auto first = m.scan();
  EXPECT_EQ(names(first.added), (std::vector<std::string>{dir_ / "a.ini", dir_ / "b.ini"}));
  ASSERT_FALSE(first.added.empty());
  EXPECT_EQ(first.added[0].path, dir_ / "a.ini");
  EXPECT_EQ(first.added[0].monitor, pattern);
}

TEST_F(monitor_test, MissingSourceIsEmpty) {
  vassal_monitor m({dir_ / "nowhere/*.ini", dir_ / "nowhere"}, "", "");
  auto first = m.scan();
  EXPECT_TRUE(first.added.empty());
  std::filesystem::create_directory(dir_ / "nowhere");
  write("nowhere/late.ini");
  EXPECT_EQ(m.scan().added.size(), 2u);  // both sources now see it, under their own names
}

TEST_F(monitor_test, OnDemandExtensionGivesTheAddress) {
  write("a.ini");
  write("b.ini");
  write("a.ini.socket", "127.0.0.1:3031\nignored");
  vassal_monitor m({dir_.path()}, ".socket", "");
  auto first = m.scan();
  ASSERT_EQ(first.added.size(), 2u);  // the companion file is no vassal
  EXPECT_EQ(first.added[0].on_demand, "127.0.0.1:3031");
  EXPECT_EQ(first.added[1].on_demand, "");
  write("b.ini.socket", "/tmp/b.sock");
  auto next = m.scan();
  EXPECT_EQ(names(next.changed), std::vector<std::string>{"b.ini"});
  EXPECT_EQ(next.changed.at(0).on_demand, "/tmp/b.sock");
}

TEST_F(monitor_test, OnDemandDirectoryGivesASocketPerVassal) {
  write("app.ini");
  vassal_monitor m({dir_ / "*.ini"}, "", "/run/sockets/");
  auto first = m.scan();
  ASSERT_EQ(first.added.size(), 1u);
  EXPECT_EQ(first.added[0].on_demand, "/run/sockets/app.socket");
}

TEST_F(monitor_test, InotifyWakesOnANewFile) {
  vassal_monitor m({dir_.path()}, "", "");
  ASSERT_GE(m.fd(), 0);
  pollfd p{m.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  write("new.ini");
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  m.drain();
  p.revents = 0;
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  EXPECT_EQ(m.scan().added.size(), 1u);
}

TEST_F(monitor_test, InotifyWatchesTheDirectoryOfAGlob) {
  vassal_monitor m({dir_ / "*.ini"}, "", "");
  ASSERT_GE(m.fd(), 0);
  write("new.ini");
  pollfd p{m.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 2000), 1);
}

}  // namespace
}  // namespace brood::emperor

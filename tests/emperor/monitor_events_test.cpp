// vassal_monitor::scan_events: the vassal files inotify events name, looked at one by one, with
// the same results a full scan gives (added, changed, removed; glob names; companion files).
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "brood/emperor/monitor.hpp"
#include "temp_dir.hpp"

namespace brood::emperor {
namespace {

std::vector<std::string> names_in(const std::vector<vassal_file>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name);
  return out;
}

class monitor_events_test : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& text = "[uwsgi]\n") {
    std::ofstream(dir_ / name) << text;
  }
  // Waits (at most 2 s) until the monitor's inotify fd is readable.
  static void wait_readable(const vassal_monitor& m) {
    pollfd p{m.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
  }

  testing::temp_dir dir_{"brood-monitor-events-"};
};

TEST_F(monitor_events_test, ReportsTheNamedFilesOnly) {
  write("a.ini");
  write("b.ini");
  vassal_monitor m({dir_.path()}, "", "");
  ASSERT_GE(m.fd(), 0);
  EXPECT_EQ(m.scan().added.size(), 2u);

  write("c.ini", "[uwsgi]\nsocket = :1\n");
  write("notes.txt");  // not a vassal file: its events change nothing
  wait_readable(m);
  auto added = m.scan_events();
  EXPECT_EQ(names_in(added.added), (std::vector<std::string>{"c.ini"}));
  ASSERT_EQ(added.added.size(), 1u);
  EXPECT_EQ(added.added[0].path, dir_ / "c.ini");
  EXPECT_EQ(added.added[0].monitor, dir_.path());
  EXPECT_TRUE(added.changed.empty());
  EXPECT_TRUE(added.removed.empty());

  timespec later[2] = {{1000, 1}, {1000, 1}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ / "b.ini").c_str(), later, 0), 0);
  ASSERT_EQ(std::remove((dir_ / "a.ini").c_str()), 0);
  wait_readable(m);
  auto next = m.scan_events();
  EXPECT_TRUE(next.added.empty());
  EXPECT_EQ(names_in(next.changed), (std::vector<std::string>{"b.ini"}));
  EXPECT_EQ(next.removed, (std::vector<std::string>{"a.ini"}));

  // What the events reported is what a full scan knows: nothing is new to it.
  auto full = m.scan();
  EXPECT_TRUE(full.added.empty());
  EXPECT_TRUE(full.changed.empty());
  EXPECT_TRUE(full.removed.empty());
}

TEST_F(monitor_events_test, ARenameIntoTheDirectoryAddsAndOutOfItRemoves) {
  vassal_monitor m({dir_.path()}, "", "");
  (void)m.scan();
  testing::temp_dir elsewhere{"brood-monitor-elsewhere-"};
  std::ofstream(elsewhere / "v.ini.tmp") << "[uwsgi]\n";
  std::filesystem::rename(elsewhere / "v.ini.tmp", dir_ / "v.ini");
  wait_readable(m);
  EXPECT_EQ(names_in(m.scan_events().added), (std::vector<std::string>{"v.ini"}));
  std::filesystem::rename(dir_ / "v.ini", elsewhere / "v.ini");
  wait_readable(m);
  EXPECT_EQ(m.scan_events().removed, (std::vector<std::string>{"v.ini"}));
}

TEST_F(monitor_events_test, AGlobSourceNamesItsMatchesAsGlobDoes) {
  const std::string pattern = dir_ / "*.ini";
  vassal_monitor m({pattern}, "", "");
  (void)m.scan();
  write("x.ini");
  write(".hidden.ini");  // glob's * does not match a leading dot
  write("x.yml");        // a vassal name the pattern does not match
  wait_readable(m);
  auto changes = m.scan_events();
  ASSERT_EQ(names_in(changes.added), (std::vector<std::string>{dir_ / "x.ini"}));
  EXPECT_EQ(changes.added[0].path, dir_ / "x.ini");
  EXPECT_EQ(changes.added[0].monitor, pattern);
  EXPECT_TRUE(m.scan().added.empty());
}

TEST_F(monitor_events_test, ACompanionFileChangesItsVassalsAddress) {
  write("app.ini");
  vassal_monitor m({dir_.path()}, ".socket", "");
  ASSERT_EQ(m.scan().added.size(), 1u);
  write("app.ini.socket", "127.0.0.1:4000\n");
  wait_readable(m);
  auto changes = m.scan_events();
  EXPECT_TRUE(changes.added.empty());
  ASSERT_EQ(changes.changed.size(), 1u);
  EXPECT_EQ(changes.changed[0].name, "app.ini");
  EXPECT_EQ(changes.changed[0].on_demand, "127.0.0.1:4000");
}

TEST_F(monitor_events_test, TheFirstSourceListingANameWins) {
  testing::temp_dir second{"brood-monitor-second-"};
  vassal_monitor m({dir_.path(), second.path()}, "", "");
  (void)m.scan();
  std::ofstream(second / "same.ini") << "[uwsgi]\n";
  wait_readable(m);
  auto from_second = m.scan_events();
  ASSERT_EQ(from_second.added.size(), 1u);
  EXPECT_EQ(from_second.added[0].path, second / "same.ini");
  write("same.ini");  // the first source lists it now: the vassal's file is this one
  timespec other[2] = {{2000, 5}, {2000, 5}};  // an mtime of its own (a change of the file)
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ / "same.ini").c_str(), other, 0), 0);
  wait_readable(m);
  auto from_first = m.scan_events();
  ASSERT_EQ(from_first.changed.size(), 1u);
  EXPECT_EQ(from_first.changed[0].path, dir_ / "same.ini");
}

}  // namespace
}  // namespace brood::emperor

// vassal_monitor: the fork server attributes of vassal files (docs/uwsgi-compat.md §17.2): the
// [emperor] attribute named by emperor-fork-server-attr and a base's own fork-server socket.
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "brood/emperor/monitor.hpp"
#include "temp_dir.hpp"

namespace brood::emperor {
namespace {

class monitor_fork_attrs_test : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& text, time_t mtime) {
    std::ofstream(dir_.path() + "/" + name) << text;
    timespec times[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() + "/" + name).c_str(), times, 0), 0);
  }
  testing::temp_dir dir_{"brood-monitor-fork-"};
};

TEST_F(monitor_fork_attrs_test, AttributesAreReadWhenAddedAndWhenChanged) {
  write("app.ini",
        "[uwsgi]\nmodule = app\n; fork-server = /not/this\n"
        "[emperor]\n  fork-server = \"/run/base.sock\"  \nother = x\n",
        100);
  write("base.ini", "[uwsgi]\nfork-socket = /run/base.sock\nmodule = app\n", 100);
  vassal_monitor m({dir_.path()}, "", "", true, "fork-server");
  auto first = m.scan();
  ASSERT_EQ(first.added.size(), 2u);
  EXPECT_EQ(first.added[0].fork_server, "/run/base.sock");
  EXPECT_EQ(first.added[0].serves, "");
  EXPECT_EQ(first.added[1].fork_server, "");
  EXPECT_EQ(first.added[1].serves, "/run/base.sock");

  write("app.ini", "[uwsgi]\nmodule = app\n[emperor]\nfork-server = /run/other.sock\n", 200);
  auto second = m.scan();
  ASSERT_EQ(second.changed.size(), 1u);
  EXPECT_EQ(second.changed[0].fork_server, "/run/other.sock");
  // Unchanged files keep what was read.
  write("app.ini", "[uwsgi]\nmodule = app\n[emperor]\nfork-server = /run/other.sock\n", 300);
  write("base.ini", "[uwsgi]\nfork-server = /run/new.sock\n", 300);
  auto third = m.scan();
  ASSERT_EQ(third.changed.size(), 2u);
  EXPECT_EQ(third.changed[1].serves, "/run/new.sock");
}

TEST_F(monitor_fork_attrs_test, NothingIsReadWithoutForkServerOptions) {
  write("app.ini", "[emperor]\nfork-server = /run/base.sock\n", 100);
  vassal_monitor m({dir_.path()}, "", "");
  auto first = m.scan();
  ASSERT_EQ(first.added.size(), 1u);
  EXPECT_EQ(first.added[0].fork_server, "");
}

}  // namespace
}  // namespace brood::emperor

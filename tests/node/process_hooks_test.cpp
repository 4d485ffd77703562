// The hook actions (brood/node/hooks.hpp), touch_watch and process_title, on a temp dir.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "brood/node/hooks.hpp"
#include "node_lifecycle.hpp"
#include "temp_dir.hpp"
#include "touch_watch.hpp"

namespace brood::node {
namespace {

using list = std::vector<std::string>;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class process_hooks_test : public ::testing::Test {
 protected:
  std::string path(const char* name) const { return std::string(dir_ / name); }
  testing::temp_dir dir_{"brood-hooks-"};
};

TEST_F(process_hooks_test, ActionsRunInOrder) {
  const hook_outcome h = run_hooks(
      {"mkdir:" + path("d"), "write:" + path("d/f") + " hello world", "putenv:BROOD_HOOK_T=7",
       "exec:echo $BROOD_HOOK_T >> " + path("d/f"), "print:done"},
      hook_point::asap);
  EXPECT_TRUE(h.ok());
  EXPECT_EQ(read(path("d/f")), "hello world7\n");
  EXPECT_STREQ(std::getenv("BROOD_HOOK_T"), "7");
  EXPECT_TRUE(run_hooks(list{"unlink:" + path("d/f")}, hook_point::asap).ok());
  EXPECT_NE(::access(path("d/f").c_str(), F_OK), 0);
}

TEST_F(process_hooks_test, AFailureStopsTheListWithStatus1) {
  const hook_outcome h =
      run_hooks(list{"exec:exit 4", "write:" + path("never") + " x"}, hook_point::pre_app);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(*h.exit_status, 1);
  EXPECT_NE(::access(path("never").c_str(), F_OK), 0);
  ASSERT_EQ(::mkdir(path("e").c_str(), 0700), 0);
  EXPECT_FALSE(run_hooks(list{"mkdir:" + path("e")}, hook_point::asap).ok());  // exists: as uWSGI
}

TEST_F(process_hooks_test, ExitEndsWithItsStatus) {
  const hook_outcome h =
      run_hooks(list{"exit:5", "write:" + path("never") + " x"}, hook_point::asap);
  EXPECT_EQ(h.exit_status, 5);
  EXPECT_NE(::access(path("never").c_str(), F_OK), 0);
}

TEST_F(process_hooks_test, CheckNamesAnUnknownAction) {
  EXPECT_EQ(check_hook_action("exec:true"), "");
  EXPECT_EQ(check_hook_action("log:x"), "");
  EXPECT_EQ(check_hook_action("foo:bar"), "hook action not found: foo");
}

TEST_F(process_hooks_test, TouchWatchSeesMtimeChangesAndCreation) {
  const std::string a = path("a");
  std::ofstream(a) << "x";
  touch_watch w({a, path("later")});
  EXPECT_FALSE(w.changed());
  timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, a.c_str(), times, 0), 0);
  EXPECT_EQ(w.changed(), a);
  EXPECT_FALSE(w.changed());
  std::ofstream(path("later")) << "y";
  EXPECT_EQ(w.changed(), path("later"));
}

TEST(process_title_test, NamesAsUwsgi) {
  process_config p;
  EXPECT_EQ(process_title(p, 0), "");
  p.procname_prefix = "x-";
  EXPECT_EQ(process_title(p, 1), "x-uWSGI worker 1");  // a prefix alone: uWSGI's names
  p.procname_prefix.clear();
  p.auto_procname = true;
  EXPECT_EQ(process_title(p, 0), "uWSGI master");
  EXPECT_EQ(process_title(p, 3), "uWSGI worker 3");
  EXPECT_EQ(process_title(p, -1), "uWSGI spooler");
  p.procname_prefix = "site ";
  p.procname_master = "boss";
  EXPECT_EQ(process_title(p, 0), "site boss");
  p.procname = "app";
  EXPECT_EQ(process_title(p, 2), "site app");
}

}  // namespace
}  // namespace brood::node

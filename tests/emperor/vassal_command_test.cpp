// vassal_command: the argv and environment of a vassal (docs/uwsgi-compat.md §4.2).
#include "brood/emperor/vassal_command.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace brood::emperor {
namespace {

using strings = std::vector<std::string>;

class vassal_command_test : public ::testing::Test {
 protected:
  emperor_config cfg;
  strings env{"PATH=/bin"};

  launch_spec run(const std::string& path) {
    return vassal_command(cfg, {"x", path, "/v", 1, ""}, "/usr/bin/brood", env);
  }
  static bool has(const strings& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }
};

TEST_F(vassal_command_test, PlainIni) {
  const auto spec = run("/v/app.ini");
  EXPECT_EQ(spec.name, "x");
  EXPECT_EQ(spec.argv, (strings{"/usr/bin/brood", "--ini", "/v/app.ini"}));
  EXPECT_EQ(spec.stdin_fd, -1);
}

TEST_F(vassal_command_test, ArgvOrderWithSetInheritInclude) {
  cfg.vassal_set = {"a=1", "b=2"};
  cfg.vassals_inherit = {"base.ini"};
  cfg.vassals_include = {"inc1.ini", "inc2.ini"};
  EXPECT_EQ(run("/v/app.ini").argv,
            (strings{"/usr/bin/brood", "--set", "a=1", "--set", "b=2", "--ini", "/v/app.ini",
                     "--inherit", "base.ini", "--include", "inc1.ini", "--include", "inc2.ini"}));
}

TEST_F(vassal_command_test, WrapperReplacesSelf) {
  cfg.wrapper = "/opt/wrap";
  EXPECT_EQ(run("/v/app.ini").argv, (strings{"/opt/wrap", "--ini", "/v/app.ini"}));
}

TEST_F(vassal_command_test, TypeFlagByExtension) {
  EXPECT_EQ(run("a.xml").argv[1], "--xml");
  EXPECT_EQ(run("a.yml").argv[1], "--yaml");
  EXPECT_EQ(run("a.yaml").argv[1], "--yaml");
  EXPECT_EQ(run("a.js").argv[1], "--json");
  EXPECT_EQ(run("a.json").argv[1], "--json");
  EXPECT_EQ(run("a.ini").argv[1], "--ini");
  EXPECT_EQ(run("a.conf").argv[1], "--inherit");
}

TEST_F(vassal_command_test, VassalVariablesAreRenamed) {
  env = {"PATH=/bin", "UWSGI_VASSAL_FOO=1", "UWSGI_VASSAL_BAR=a=b", "UWSGI_OTHER=2",
         "UWSGI_VASSAL_=3"};
  const auto spec = run("a.ini");
  EXPECT_EQ(spec.set, (strings{"UWSGI_FOO=1", "UWSGI_BAR=a=b"}));
  EXPECT_TRUE(has(spec.unset, "UWSGI_VASSAL_FOO"));
  EXPECT_TRUE(has(spec.unset, "UWSGI_VASSAL_BAR"));
  EXPECT_FALSE(has(spec.unset, "UWSGI_OTHER"));
  EXPECT_FALSE(has(spec.unset, "PATH"));
  EXPECT_FALSE(has(spec.unset, "UWSGI_VASSAL_"));
}

TEST_F(vassal_command_test, ReloadsAndNotifySocketAreUnset) {
  env = {"UWSGI_RELOADS=4", "NOTIFY_SOCKET=/run/n"};
  const auto spec = run("a.ini");
  EXPECT_TRUE(has(spec.unset, "UWSGI_RELOADS"));
  EXPECT_TRUE(has(spec.unset, "NOTIFY_SOCKET"));
  EXPECT_TRUE(spec.set.empty());
}

TEST_F(vassal_command_test, ZergRunsTheZergSectionWithTheSameRules) {
  cfg.vassal_set = {"a=1"};
  cfg.vassals_inherit = {"base.ini"};
  cfg.wrapper = "/opt/wrap";
  env = {"PATH=/bin", "UWSGI_VASSAL_FOO=1", "UWSGI_RELOADS=3"};
  const auto spec =
      zerg_command(cfg, {"app.ini:zerg:2", "/v/app.ini", "/v", 1, ""}, 7, "/usr/bin/brood", env);
  EXPECT_EQ(spec.name, "app.ini:zerg:2");
  EXPECT_EQ(spec.argv, (strings{"/opt/wrap", "--set", "a=1", "--ini", "/v/app.ini:zerg",
                                "--inherit", "base.ini"}));
  EXPECT_EQ(spec.set, (strings{"UWSGI_FOO=1", "UWSGI_BROODLORD_NUM=7"}));
  EXPECT_TRUE(has(spec.unset, "UWSGI_RELOADS"));
  EXPECT_TRUE(has(spec.unset, "UWSGI_VASSAL_FOO"));
  EXPECT_EQ(spec.stdin_fd, -1);
}

}  // namespace
}  // namespace brood::emperor

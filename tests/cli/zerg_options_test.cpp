// The zerg-mode options of `brood` (docs/uwsgi-compat.md §6) and reuse-port: defaults, the command
// line, ini files ([zerg] sections), and zerg-server implying master. In-process, no network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using zerg_options_test = options_fixture;

TEST_F(zerg_options_test, DefaultsAreOff) {
  const node::node_config c = parse({});
  EXPECT_TRUE(c.zerg_server.empty());
  EXPECT_TRUE(c.zergs.empty());
  EXPECT_FALSE(c.zerg_fallback);
  EXPECT_FALSE(c.reuse_port);
  EXPECT_FALSE(c.master);
}

TEST_F(zerg_options_test, ZergServerImpliesMaster) {
  const node::node_config c = parse({"--zerg-server", "/run/z.sock"});
  EXPECT_EQ(c.zerg_server, "/run/z.sock");
  EXPECT_TRUE(c.master);
}

TEST_F(zerg_options_test, ZergIsRepeatableAndFlagsParse) {
  const node::node_config c =
      parse({"--zerg", "/a", "--zerg", "/b", "--zerg-fallback", "--reuse-port"});
  EXPECT_EQ(c.zergs, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_TRUE(c.zerg_fallback);
  EXPECT_TRUE(c.reuse_port);
  EXPECT_FALSE(c.master);
}

TEST_F(zerg_options_test, ZergSectionOfAnIniFile) {
  const std::string ini = write("v.ini",
                                "[uwsgi]\nsocket = :3031\nzerg-server = /tmp/zs\n"
                                "[zerg]\nzerg = /tmp/zs\nzerg-fallback = false\nreuse-port = 1\n");
  const node::node_config base = parse({"--ini", ini});
  EXPECT_EQ(base.zerg_server, "/tmp/zs");
  EXPECT_TRUE(base.zergs.empty());
  const node::node_config zerg = parse({"--ini", ini + ":zerg"});
  EXPECT_EQ(zerg.zergs, (std::vector<std::string>{"/tmp/zs"}));
  EXPECT_FALSE(zerg.zerg_fallback);
  EXPECT_TRUE(zerg.reuse_port);
  EXPECT_TRUE(zerg.zerg_server.empty());
}

TEST_F(zerg_options_test, ABadFlagValueNamesTheOption) {
  EXPECT_NE(error_of({"--zerg-fallback", "maybe"}).find("zerg-fallback"), std::string::npos);
}

}  // namespace
}  // namespace brood::cli

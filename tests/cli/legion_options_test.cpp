// The legion options of `brood` (docs/config.md "Legion", docs/uwsgi-compat.md §18): a uWSGI
// legion config parses, `legion` lines apply first, timing in uWSGI's seconds or brood's ms, the
// emperor gets the same legions, and errors name the option. In-process, no network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using std::chrono::milliseconds;
using legion_options_test = options_fixture;

TEST_F(legion_options_test, NoLegionByDefault) {
  const node::node_config c = parse({});
  EXPECT_TRUE(c.legion.legions.empty());
  EXPECT_EQ(c.legion.times.heartbeat, milliseconds(100));
  EXPECT_EQ(c.legion.times.lease, milliseconds(400));
  EXPECT_EQ(c.legion.times.skew_tolerance, milliseconds(60000));
  EXPECT_EQ(c.legion.scroll_max_size, 4096u);
  EXPECT_EQ(c.legion.scroll_list_max_size, 32768u);
}

TEST_F(legion_options_test, UwsgiIniAppliesLegionLinesFirst) {
  const std::string ini = write("node.ini",
                                "[uwsgi]\n"
                                "legion-node = web 127.0.0.1:4002\n"  // before its legion
                                "legion-lord = web cmd:touch /tmp/lord\n"
                                "legion = web 127.0.0.1:4001 98 aes-128-cbc:s3cr3t\n"
                                "legion-node = web 127.0.0.1:4003\n"
                                "legion-quorum = web 2\n"
                                "legion-scroll = web hello world\n"
                                "legion-unlord = web log:bye\n"
                                "legion-node-joined = web signal:3\n"
                                "legion-attach-daemon = web sleep 100\n"
                                "legion-freq = 1\n"
                                "legion-tolerance = 3\n"
                                "legion-skew-tolerance = 30\n");
  const node::node_config c = parse({"--ini", ini});
  ASSERT_EQ(c.legion.legions.size(), 1u);
  const legion::legion_config& l = c.legion.legions[0];
  EXPECT_EQ(l.name, "web");
  EXPECT_EQ(l.address.text(), "127.0.0.1:4001");
  EXPECT_EQ(l.valor, 98);
  EXPECT_EQ(l.secret, "aes-128-cbc:s3cr3t");
  EXPECT_EQ(l.members().size(), 3u);
  EXPECT_EQ(l.effective_quorum(), 2u);
  EXPECT_EQ(l.scroll, "hello world");
  EXPECT_EQ(l.hooks.at(legion::hook_event::lord).size(), 1u);
  EXPECT_EQ(l.hooks.at(legion::hook_event::unlord)[0].arg, "bye");
  EXPECT_EQ(l.hooks.at(legion::hook_event::node_joined)[0].what, legion::hook_action::kind::signal);
  EXPECT_EQ(l.attach_daemons, std::vector<std::string>{"sleep 100"});
  EXPECT_EQ(c.legion.times.heartbeat, milliseconds(1000));
  EXPECT_EQ(c.legion.times.lease, milliseconds(3000));
  EXPECT_EQ(c.legion.times.skew_tolerance, milliseconds(30000));
  EXPECT_TRUE(c.master);  // the master runs the legion
}

TEST_F(legion_options_test, BroodMillisecondsWinOverUwsgiSeconds) {
  const node::node_config c =
      parse({"--legion", "web 127.0.0.1:4001 1 s", "--legion-freq", "1", "--legion-tolerance", "5",
             "--legion-heartbeat", "50", "--legion-lease", "250"});
  EXPECT_EQ(c.legion.times.heartbeat, milliseconds(50));
  EXPECT_EQ(c.legion.times.lease, milliseconds(250));
}

TEST_F(legion_options_test, EmperorGetsTheLegions) {
  options_result r = parse_options(
      {"--emperor", dir_.path(), "--legion", "cluster 127.0.0.1:4001 1 s", "--legion-node",
       "cluster 127.0.0.1:4002", "--legion-etcd", "http://127.0.0.1:2379"});
  ASSERT_TRUE(r.options) << r.error;
  ASSERT_EQ(r.options->emperor.legion.legions.size(), 1u);
  EXPECT_EQ(r.options->emperor.legion.legions[0].members().size(), 2u);
  EXPECT_EQ(r.options->emperor.legion.legions[0].etcd_endpoints, "http://127.0.0.1:2379");
}

TEST_F(legion_options_test, ErrorsNameTheOption) {
  EXPECT_NE(error_of({"--legion-mcast", "web 225.1.1.1:4000 1 s"}).find("legion-mcast"),
            std::string::npos);
  EXPECT_EQ(error_of({"--legion-node", "web 127.0.0.1:4002"}),
            "legion-node: unknown legion 'web' (declare it with legion)");
  EXPECT_NE(error_of({"--legion", "web nowhere 1 s"}).find("legion: ADDR"), std::string::npos);
  EXPECT_NE(error_of({"--legion", "web 127.0.0.1:4001 x s"}).find("VALOR 'x'"), std::string::npos);
  EXPECT_NE(error_of({"--legion", "web 127.0.0.1:4001 1 s", "--legion-lord", "web rm:x"})
                .find("unknown action"),
            std::string::npos);
  EXPECT_NE(
      error_of({"--legion", "web 127.0.0.1:4001 1 s", "--legion-quorum", "web 2"}).find("quorum"),
      std::string::npos);
  EXPECT_NE(error_of({"--legion", "web 127.0.0.1:4001 1 s", "--legion-heartbeat", "300"})
                .find("legion-heartbeat"),
            std::string::npos);
  EXPECT_NE(error_of({"--legion-heartbeat", "abc"}).find("legion-heartbeat"), std::string::npos);
}

}  // namespace
}  // namespace brood::cli

// The legion options as uWSGI writes them (docs/config.md "Legion").
#include "brood/legion/config.hpp"

#include <gtest/gtest.h>

namespace brood::legion {
namespace {

TEST(legion_config_test, UwsgiLegionLineWithCipherSecretAndIv) {
  config c;
  ASSERT_EQ(apply_legion(c, "web 127.0.0.1:4001 98 aes-128-cbc:s3cr3t myiv"), "");
  ASSERT_EQ(c.legions.size(), 1u);
  EXPECT_EQ(c.legions[0].name, "web");
  EXPECT_EQ(c.legions[0].address.text(), "127.0.0.1:4001");
  EXPECT_EQ(c.legions[0].valor, 98);
  EXPECT_EQ(c.legions[0].secret, "aes-128-cbc:s3cr3t myiv");
}

TEST(legion_config_test, MembersAndDefaultQuorumIsAMajority) {
  config c;
  ASSERT_EQ(apply_legion(c, "web 127.0.0.1:4001 1 s"), "");
  ASSERT_EQ(apply_legion_node(c, "web 127.0.0.1:4001"), "");  // self listed too: counted once
  ASSERT_EQ(apply_legion_node(c, "web 127.0.0.1:4002"), "");
  ASSERT_EQ(apply_legion_node(c, "web [::1]:4003"), "");
  EXPECT_EQ(c.legions[0].members().size(), 3u);
  EXPECT_EQ(c.legions[0].effective_quorum(), 2u);
  ASSERT_EQ(apply_legion_quorum(c, "web 3"), "");
  EXPECT_EQ(c.legions[0].effective_quorum(), 3u);
  EXPECT_EQ(validate(c), "");
  ASSERT_EQ(apply_legion_quorum(c, "web 4"), "");
  EXPECT_NE(validate(c).find("exceeds its 3 members"), std::string::npos) << validate(c);
}

TEST(legion_config_test, HooksAndDaemons) {
  config c;
  ASSERT_EQ(apply_legion(c, "web 127.0.0.1:4001 1 s"), "");
  ASSERT_EQ(apply_legion_hook(c, hook_event::lord, "web cmd:touch /tmp/x y"), "");
  ASSERT_EQ(apply_legion_hook(c, hook_event::node_left, "web log:gone"), "");
  ASSERT_EQ(apply_legion_hook(c, hook_event::unlord, "web signal:17"), "");
  ASSERT_EQ(apply_legion_attach_daemon(c, "web sleep 100"), "");
  const legion_config& l = c.legions[0];
  ASSERT_EQ(l.hooks.at(hook_event::lord).size(), 1u);
  EXPECT_EQ(l.hooks.at(hook_event::lord)[0].what, hook_action::kind::cmd);
  EXPECT_EQ(l.hooks.at(hook_event::lord)[0].arg, "touch /tmp/x y");
  EXPECT_EQ(l.hooks.at(hook_event::node_left)[0].arg, "gone");
  EXPECT_EQ(l.hooks.at(hook_event::unlord)[0].arg, "17");
  EXPECT_EQ(l.attach_daemons, std::vector<std::string>{"sleep 100"});
}

TEST(legion_config_test, BadValuesAreNamed) {
  config c;
  EXPECT_NE(apply_legion(c, "web 127.0.0.1:4001 1").find("NAME ADDR VALOR SECRET"),
            std::string::npos);
  EXPECT_NE(apply_legion(c, "web 127.0.0.1 1 s").find("HOST:PORT"), std::string::npos);
  EXPECT_NE(apply_legion(c, "web 127.0.0.1:70000 1 s").find("port"), std::string::npos);
  EXPECT_NE(apply_legion(c, "web 127.0.0.1:4001 x s").find("VALOR 'x'"), std::string::npos);
  EXPECT_NE(apply_legion_node(c, "nope 127.0.0.1:1").find("unknown legion 'nope'"),
            std::string::npos);
  ASSERT_EQ(apply_legion(c, "web 127.0.0.1:4001 1 s"), "");
  EXPECT_NE(apply_legion(c, "web 127.0.0.1:4002 1 s").find("declared twice"), std::string::npos);
  EXPECT_NE(apply_legion_hook(c, hook_event::lord, "web alarm:x").find("unknown action"),
            std::string::npos);
  EXPECT_NE(apply_legion_hook(c, hook_event::lord, "web signal:x").find("signal 'x'"),
            std::string::npos);
  c.times.heartbeat = milliseconds{300};
  EXPECT_NE(validate(c).find("at least twice"), std::string::npos);
}

TEST(legion_config_test, EtcdForOneOrEveryLegion) {
  config c;
  ASSERT_EQ(apply_legion(c, "a 127.0.0.1:4001 1 s"), "");
  ASSERT_EQ(apply_legion(c, "b 127.0.0.1:4002 1 s"), "");
  ASSERT_EQ(apply_legion_etcd(c, "http://127.0.0.1:2379"), "");
  EXPECT_EQ(c.legions[1].etcd_endpoints, "http://127.0.0.1:2379");
  ASSERT_EQ(apply_legion_etcd(c, "a http://127.0.0.1:2380"), "");
  EXPECT_EQ(c.legions[0].etcd_endpoints, "http://127.0.0.1:2380");
  EXPECT_EQ(validate(c), "");
}

}  // namespace
}  // namespace brood::legion

// The subscription options' syntax: subscribe-to (every form of docs/uwsgi-compat.md §10.2),
// subscribe2 and "@FILE" key lists, and the refusals naming what is wrong.
#include "brood/node/subscription_config.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace brood::node {
namespace {

std::string refusal(subscription_target (*parse)(std::string_view), std::string_view v) {
  try {
    parse(v);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(subscription_config, SubscribeToServerAndKey) {
  const auto t = parse_subscribe_to("127.0.0.1:4040:foobar.it");
  EXPECT_EQ(t.server, "127.0.0.1:4040");
  EXPECT_EQ(t.key, "foobar.it");
  EXPECT_FALSE(t.modifier1);
  EXPECT_FALSE(t.socket);
  EXPECT_EQ(t.socket_name, "");
  EXPECT_EQ(t.sign, "");
  EXPECT_EQ(t.origin, "127.0.0.1:4040:foobar.it");
}

TEST(subscription_config, SubscribeToModifier1AndSign) {
  const auto t = parse_subscribe_to("127.0.0.1:4040:foobar.it,5,sha256:/etc/k.pem");
  EXPECT_EQ(t.key, "foobar.it");
  EXPECT_EQ(t.modifier1, 5);
  EXPECT_EQ(t.sign, "sha256:/etc/k.pem");
  const auto u = parse_subscribe_to("127.0.0.1:4040:k,,sha1:k.pem");
  EXPECT_FALSE(u.modifier1);
  EXPECT_EQ(u.sign, "sha1:k.pem");
}

TEST(subscription_config, SubscribeToUnixServer) {
  const auto t = parse_subscribe_to("/run/router.sock:www.example.com:8080");
  EXPECT_EQ(t.server, "/run/router.sock");
  EXPECT_EQ(t.key, "www.example.com:8080");
}

TEST(subscription_config, SubscribeToSocketNumberAndSocketName) {
  const auto t = parse_subscribe_to("=1=127.0.0.1:4040:bar.it,5");
  EXPECT_EQ(t.socket, 1u);
  EXPECT_EQ(t.server, "127.0.0.1:4040");
  EXPECT_EQ(t.key, "bar.it");
  EXPECT_EQ(t.modifier1, 5);
  const auto n = parse_subscribe_to("127.0.0.1:0=127.0.0.1:4040:k");
  EXPECT_EQ(n.socket_name, "127.0.0.1:0");
  EXPECT_EQ(n.server, "127.0.0.1:4040");
  EXPECT_EQ(n.key, "k");
}

TEST(subscription_config, SubscribeToKeyList) {
  EXPECT_EQ(parse_subscribe_to("127.0.0.1:4040:@/etc/keys").key, "@/etc/keys");
}

TEST(subscription_config, SubscribeToRefusals) {
  EXPECT_NE(refusal(parse_subscribe_to, "127.0.0.1:4040").find("expected SERVER:KEY"),
            std::string::npos);
  EXPECT_NE(refusal(parse_subscribe_to, "127.0.0.1:4040:").find("empty key"), std::string::npos);
  EXPECT_NE(refusal(parse_subscribe_to, "127.0.0.1:4040:k,300").find("modifier1 \"300\""),
            std::string::npos);
  EXPECT_NE(refusal(parse_subscribe_to, "=x=127.0.0.1:4040:k").find("socket number"),
            std::string::npos);
  EXPECT_NE(refusal(parse_subscribe_to, "127.0.0.1:4040:k,1,nokey").find("sign must be"),
            std::string::npos);
}

TEST(subscription_config, Subscribe2EveryName) {
  const auto t = parse_subscribe2(
      "server=127.0.0.1:4040,key=foobar.it,socket=1,addr=/tmp/x.sock,weight=7,modifier1=5,"
      "modifier2=3,sign=sha1:/k.pem,check=/tmp/maint,sni_key=k,sni_crt=c,sni_ca=a");
  EXPECT_EQ(t.server, "127.0.0.1:4040");
  EXPECT_EQ(t.key, "foobar.it");
  EXPECT_EQ(t.socket, 1u);
  EXPECT_EQ(t.addr, "/tmp/x.sock");
  EXPECT_EQ(t.weight, 7u);
  EXPECT_EQ(t.modifier1, 5);
  EXPECT_EQ(t.modifier2, 3);
  EXPECT_EQ(t.sign, "sha1:/k.pem");
  EXPECT_EQ(t.check, "/tmp/maint");
  EXPECT_EQ(t.sni_key, "k");
  EXPECT_EQ(t.sni_crt, "c");
  EXPECT_EQ(t.sni_ca, "a");
}

TEST(subscription_config, Subscribe2Refusals) {
  EXPECT_NE(refusal(parse_subscribe2, "key=k").find("server= is required"), std::string::npos);
  EXPECT_NE(refusal(parse_subscribe2, "server=127.0.0.1:1").find("key= is required"),
            std::string::npos);
  EXPECT_NE(
      refusal(parse_subscribe2, "server=a:1,key=k,colour=red").find("unknown name \"colour\""),
      std::string::npos);
  EXPECT_NE(refusal(parse_subscribe2, "server=a:1,key=k,key=j").find("\"key\" given twice"),
            std::string::npos);
  EXPECT_NE(refusal(parse_subscribe2, "server=a:1,key=k,weight=-1").find("weight \"-1\""),
            std::string::npos);
  EXPECT_NE(refusal(parse_subscribe2, "server=a:1,key=k,oops").find("\"oops\" is not name=value"),
            std::string::npos);
}

TEST(subscription_config, KeyListSkipsCommentsAndBlankLines) {
  const auto keys = parse_key_list("# the keys\nfoo.it\n\n  bar.it,5\r\n#baz\nqux.it\n");
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].first, "foo.it");
  EXPECT_FALSE(keys[0].second);
  EXPECT_EQ(keys[1].first, "bar.it");
  EXPECT_EQ(keys[1].second, 5);
  EXPECT_EQ(keys[2].first, "qux.it");
  EXPECT_THROW(parse_key_list("k,999\n"), std::invalid_argument);
}

}  // namespace
}  // namespace brood::node

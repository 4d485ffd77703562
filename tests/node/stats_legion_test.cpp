// The `legions` entries of the node's stats document (node/src/stats_json.cpp, docs/legion.md
// "Stats"): uWSGI's keys first in uWSGI's order, then brood's (epoch, backend, lord_addr, ...);
// no key at all without legions.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stats_json.hpp"

namespace brood::node {
namespace {

using json = nlohmann::ordered_json;

std::vector<std::string> keys_of(const json& object) {
  std::vector<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
  return keys;
}

legion::legion_view follower() {
  legion::legion_view v;
  v.legion = "web";
  v.address = "127.0.0.1:4001";
  v.uuid = "11111111-1111-4111-8111-111111111111";
  v.valor = 10;
  v.backend = "zeromq";
  v.quorum = 2;
  v.epoch = 5;
  v.lord_uuid = "22222222-2222-4222-8222-222222222222";
  v.lord_address = "127.0.0.1:4002";
  v.lord_valor = 20;
  v.lord_scroll = "alpha";
  legion::member_view m;
  m.address = "127.0.0.1:4002";
  m.name = "host2";
  m.uuid = v.lord_uuid;
  m.valor = 20;
  m.alive = true;
  m.last_seen_unix = 1700000000;
  v.members.push_back(m);
  return v;
}

TEST(stats_legion_test, NoLegionsNoKey) {
  node_stats s;
  EXPECT_FALSE(json::parse(stats_json(s)).contains("legions"));
}

TEST(stats_legion_test, UwsgiKeysFirstInUwsgiOrderThenBroods) {
  node_stats s;
  s.legions.push_back(follower());
  const json doc = json::parse(stats_json(s));
  EXPECT_EQ(keys_of(doc).back(), "legions");
  ASSERT_EQ(doc["legions"].size(), 1u);
  const json& e = doc["legions"][0];
  const std::vector<std::string> uwsgi = {"legion",    "addr",   "uuid",          "valor",
                                          "checksum",  "quorum", "i_am_the_lord", "lord_valor",
                                          "lord_uuid", "nodes",  "members"};
  const std::vector<std::string> keys = keys_of(e);
  ASSERT_GE(keys.size(), uwsgi.size());
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + uwsgi.size()), uwsgi);
  EXPECT_EQ(e["legion"], "web");
  EXPECT_EQ(e["addr"], "127.0.0.1:4001");
  EXPECT_EQ(e["quorum"], 2);
  EXPECT_EQ(e["lord_uuid"], "22222222-2222-4222-8222-222222222222");
  EXPECT_EQ(e["nodes"], json::array({"127.0.0.1:4002"}));
  EXPECT_EQ(e["epoch"], 5);
  EXPECT_EQ(e["backend"], "zeromq");
  EXPECT_EQ(e["lord_addr"], "127.0.0.1:4002");
  EXPECT_FALSE(e["i_am_the_lord"].is_boolean() && e["i_am_the_lord"].get<bool>());
  ASSERT_EQ(e["members"].size(), 1u);
  const json& m = e["members"][0];
  const std::vector<std::string> mkeys = keys_of(m);
  ASSERT_GE(mkeys.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(mkeys.begin(), mkeys.begin() + 5),
            (std::vector<std::string>{"name", "uuid", "valor", "checksum", "last_seen"}));
  EXPECT_EQ(m["name"], "host2");
  EXPECT_EQ(m["last_seen"], 1700000000);
  EXPECT_EQ(m["alive"], true);
}

}  // namespace
}  // namespace brood::node

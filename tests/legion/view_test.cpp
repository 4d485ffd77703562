// legion_view as JSON (view.hpp, docs/protocol.md §14.4): uWSGI's stats shape plus brood's fields.
#include "brood/legion/view.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brood::legion {
namespace {

using nlohmann::json;

legion_view sample() {
  legion_view v;
  v.legion = "web";
  v.address = "127.0.0.1:4001";
  v.uuid = "aaaaaaaa-0000-4000-8000-000000000001";
  v.valor = 3;
  v.backend = "zeromq";
  v.quorum = 2;
  v.i_am_the_lord = true;
  v.epoch = 42;
  v.lord_uuid = v.uuid;
  v.lord_address = v.address;
  v.lord_valor = 3;
  v.lord_scroll = "s";
  v.lord_since_unix_ms = 1765000000500;
  member_view m;
  m.address = "127.0.0.1:4002";
  m.name = "beta";
  m.uuid = "bbbbbbbb-0000-4000-8000-000000000002";
  m.valor = 2;
  m.pid = 77;
  m.scroll = "x";
  m.alive = true;
  m.last_seen_unix = 1765000001;
  v.members.push_back(m);
  member_view never;
  never.address = "127.0.0.1:4003";
  v.members.push_back(never);
  return v;
}

TEST(legion_view_test, UwsgiShapePlusEpoch) {
  const json j = to_json(sample());
  for (const char* k :
       {"legion", "addr", "uuid", "valor", "checksum", "quorum", "i_am_the_lord", "lord_valor",
        "lord_uuid", "nodes", "members", "epoch", "backend", "lord_addr"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["addr"], "127.0.0.1:4001");
  EXPECT_EQ(j["i_am_the_lord"], 1765000000);  // uWSGI: the time it became lord
  EXPECT_EQ(j["epoch"], 42u);
  EXPECT_EQ(j["nodes"], json::array({"127.0.0.1:4002", "127.0.0.1:4003"}));
  ASSERT_EQ(j["members"].size(), 2u);
  for (const char* k : {"name", "uuid", "valor", "checksum", "last_seen", "addr", "alive"}) {
    EXPECT_TRUE(j["members"][0].contains(k)) << k;
  }
  EXPECT_EQ(j["members"][0]["last_seen"], 1765000001);
  EXPECT_EQ(j["members"][1]["alive"], false);
  EXPECT_EQ(j["members"][1]["checksum"], 0);
  // uWSGI's checksum: valors plus uuid bytes of self and the members heard.
  std::uint64_t sum = 3 + 2;
  for (char c : sample().uuid + sample().members[0].uuid) sum += static_cast<unsigned char>(c);
  EXPECT_EQ(j["checksum"], sum);
  legion_view v = sample();
  v.i_am_the_lord = false;
  EXPECT_EQ(to_json(v)["i_am_the_lord"], 0);
}

TEST(legion_view_test, RoundTripThroughText) {
  const legion_view a = sample();
  legion_view b;
  ASSERT_TRUE(from_json(json::parse(to_json(a).dump()), b));
  EXPECT_EQ(b.legion, a.legion);
  EXPECT_EQ(b.address, a.address);
  EXPECT_EQ(b.uuid, a.uuid);
  EXPECT_EQ(b.valor, a.valor);
  EXPECT_EQ(b.backend, a.backend);
  EXPECT_EQ(b.quorum, a.quorum);
  EXPECT_TRUE(b.i_am_the_lord);
  EXPECT_EQ(b.epoch, a.epoch);
  EXPECT_EQ(b.lord_uuid, a.lord_uuid);
  EXPECT_EQ(b.lord_address, a.lord_address);
  EXPECT_EQ(b.lord_valor, a.lord_valor);
  EXPECT_EQ(b.lord_scroll, a.lord_scroll);
  EXPECT_EQ(b.lord_since_unix_ms, a.lord_since_unix_ms);
  ASSERT_EQ(b.members.size(), 2u);
  EXPECT_EQ(b.members[0].address, a.members[0].address);
  EXPECT_EQ(b.members[0].name, "beta");
  EXPECT_EQ(b.members[0].uuid, a.members[0].uuid);
  EXPECT_EQ(b.members[0].valor, 2);
  EXPECT_EQ(b.members[0].pid, 77);
  EXPECT_EQ(b.members[0].scroll, "x");
  EXPECT_TRUE(b.members[0].alive);
  EXPECT_EQ(b.members[0].last_seen_unix, 1765000001);
  EXPECT_FALSE(b.members[1].alive);
}

TEST(legion_view_test, MissingOrMistypedFieldsAreRefused) {
  const json good = to_json(sample());
  legion_view v;
  v.legion = "untouched";
  for (const char* k : {"legion", "addr", "uuid", "valor", "quorum", "i_am_the_lord", "lord_valor",
                        "lord_uuid", "epoch", "members"}) {
    json j = good;
    j.erase(k);
    EXPECT_FALSE(from_json(j, v)) << "without " << k;
    j = good;
    j[k] = json::array({1});
    EXPECT_FALSE(from_json(j, v)) << "mistyped " << k;
  }
  json j = good;
  j["epoch"] = -1;
  EXPECT_FALSE(from_json(j, v));
  j = good;
  j["backend"] = 5;  // optional, but typed when present
  EXPECT_FALSE(from_json(j, v));
  j = good;
  j["members"][0].erase("uuid");
  EXPECT_FALSE(from_json(j, v));
  j = good;
  j["members"][0] = "x";
  EXPECT_FALSE(from_json(j, v));
  EXPECT_FALSE(from_json(json::array(), v));
  EXPECT_EQ(v.legion, "untouched");
  j = good;
  j["i_am_the_lord"] = false;  // a boolean is accepted too
  ASSERT_TRUE(from_json(j, v));
  EXPECT_FALSE(v.i_am_the_lord);
}

}  // namespace
}  // namespace brood::legion

// The placement payload (docs/protocol.md §14.5): round trips, inside a legion frame, and every
// named refusal.
#include <gtest/gtest.h>

#include "brood/legion/placement_codec.hpp"
#include "brood/wire/msgpack_codec.hpp"

namespace brood::legion {
namespace {

using wire::value;

placement_message sample() {
  placement_message m;
  m.kind = placement_kind::ack;
  m.from = "127.0.0.1:4001";
  m.epoch = 7;
  m.ref = 42;
  m.version = 9;
  m.capacity = 12;
  m.running = {"a.ini", "b.ini"};
  m.starting = {"c.ini"};
  m.stopping = {"e.ini"};
  m.failed = {"d.ini"};
  m.sos = {"a.ini"};
  m.assigned = {"a.ini", "b.ini", "c.ini"};
  placement_table t;
  t.epoch = 7;
  t.version = 9;
  t.catalog = {{"a.ini", 1, true}, {"b.ini", 2}};
  t.placed["a.ini:zerg"] = {"127.0.0.1:4002"};
  t.placed = {{"a.ini", {"127.0.0.1:4001"}}, {"b.ini", {"127.0.0.1:4001", "127.0.0.1:4002"}}};
  t.leaving = {{"a.ini", "127.0.0.1:4003"}};
  m.table = t;
  return m;
}

bool same(const placement_message& a, const placement_message& b) {
  return a.kind == b.kind && a.from == b.from && a.epoch == b.epoch && a.ref == b.ref &&
         a.version == b.version && a.capacity == b.capacity && a.running == b.running &&
         a.starting == b.starting && a.stopping == b.stopping && a.failed == b.failed &&
         a.sos == b.sos && a.assigned == b.assigned && a.table == b.table;
}

std::string bytes_of(const value& v) {
  const wire::bytes b = wire::encode_msgpack(v);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string why(const std::string& payload, placement_limits lim = {}) {
  placement_message out;
  const decode_result r = decode_placement(payload, lim, out);
  EXPECT_FALSE(r.ok);
  return r.why;
}

wire::map minimal() {
  return {{value("kind"), value(1)}, {value("from"), value("a:1")}, {value("epoch"), value(3)}};
}

TEST(placement_codec, RoundTripsWithTable) {
  const placement_message m = sample();
  placement_message out;
  ASSERT_TRUE(decode_placement(encode_placement(m), {}, out).ok);
  EXPECT_TRUE(same(m, out));
}

TEST(placement_codec, RoundTripsWithoutTable) {
  placement_message m = sample();
  m.table.reset();
  m.kind = placement_kind::report;
  placement_message out;
  ASSERT_TRUE(decode_placement(encode_placement(m), {}, out).ok);
  EXPECT_TRUE(same(m, out));
  EXPECT_FALSE(out.table.has_value());
}

TEST(placement_codec, TravelsInAnAuthenticatedLegionFrame) {
  const key k = derive_key("web", "s3cr3t");
  message env = placement_envelope(sample());
  env.legion = "web";
  env.from = "127.0.0.1:4001";
  env.uuid = std::string(36, 'u');
  env.seq = 1;
  env.unix_ms = 1;
  message m;
  ASSERT_TRUE(decode_message(encode_message(env, k), k, {}, m).ok);
  EXPECT_EQ(m.type, message_type::placement);
  EXPECT_EQ(m.epoch, 7u);
  placement_message out;
  ASSERT_TRUE(decode_placement(m.payload, {}, out).ok);
  EXPECT_TRUE(same(sample(), out));
}

TEST(placement_codec, MinimalMessageGetsDefaults) {
  placement_message out;
  ASSERT_TRUE(decode_placement(bytes_of(value(minimal())), {}, out).ok);
  EXPECT_EQ(out.kind, placement_kind::report);
  EXPECT_EQ(out.epoch, 3u);
  EXPECT_TRUE(out.running.empty());
}

TEST(placement_codec, UnknownFieldsAreSkipped) {
  wire::map f = minimal();
  f.emplace_back(value("future"), value(1));
  placement_message out;
  EXPECT_TRUE(decode_placement(bytes_of(value(f)), {}, out).ok);
}

TEST(placement_codec, RefusalsNameWhatWasWrong) {
  EXPECT_EQ(
      why("\xc1"), "malformed placement: " + [] {
        wire::limits l;
        value v;
        const std::uint8_t b = 0xc1;
        return wire::decode_msgpack({&b, 1}, l, v).why;
      }());
  EXPECT_EQ(why(bytes_of(value(1))), "placement is not a msgpack map");
  for (const char* req : {"kind", "from", "epoch"}) {
    wire::map f;
    for (auto& p : minimal())
      if (p.first.as<std::string>() != req) f.push_back(p);
    EXPECT_EQ(why(bytes_of(value(f))), std::string("placement field '") + req + "' is missing");
  }
  wire::map f = minimal();
  f[0].second = value(4);
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'kind' has an unknown value 4");
  f = minimal();
  f[1].second = value(1);
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'from' has the wrong type");
  f = minimal();
  f[1].second = value("");
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'from' has an empty name");
  f = minimal();
  f.push_back(f[0]);
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'kind' appears twice");
  f = minimal();
  f.emplace_back(value(1), value(1));
  EXPECT_EQ(why(bytes_of(value(f))), "a placement field name is not a string");
  f = minimal();
  f.emplace_back(value("running"), value(wire::array{value("a"), value(2)}));
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'running' has the wrong type");
  f = minimal();
  f.emplace_back(value("capacity"), value(-1));
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'capacity' has the wrong type");
  f = minimal();
  f.emplace_back(value("capacity"), value(1ULL << 40));
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'capacity' is out of range (1099511627776)");
  placement_limits lim;
  lim.max_string = 3;
  f = minimal();
  f[1].second = value("abcd");
  EXPECT_EQ(why(bytes_of(value(f)), lim),
            "placement field 'from' is too long (4 bytes, at most 3)");
  lim = {};
  lim.max_list = 1;
  f = minimal();
  f.emplace_back(value("failed"), value(wire::array{value("a"), value("b")}));
  EXPECT_EQ(why(bytes_of(value(f)), lim),
            "placement field 'failed' has too many entries (2, at most 1)");
}

TEST(placement_codec, TableRefusals) {
  auto with_table = [](wire::map t) {
    wire::map f = minimal();
    f.emplace_back(value("table"), value(std::move(t)));
    return bytes_of(value(f));
  };
  wire::map t{{value("epoch"), value(1)}};
  EXPECT_EQ(why(with_table(t)), "placement field 'version' is missing");
  t.emplace_back(value("version"), value(1));
  t.emplace_back(value("catalog"), value(wire::array{value(wire::array{value("a"), value(0)})}));
  EXPECT_EQ(why(with_table(t)), "placement field 'replicas' is out of range (0)");
  t.back().second = value(wire::array{value(wire::array{value("a")})});
  EXPECT_EQ(why(with_table(t)), "placement field 'catalog' has the wrong type");
  // The third element (the [zerg] flag) is a boolean; a fourth is refused.
  t.back().second = value(wire::array{value(wire::array{value("a"), value(1), value(1)})});
  EXPECT_EQ(why(with_table(t)), "placement field 'catalog' has the wrong type");
  t.back().second =
      value(wire::array{value(wire::array{value("a"), value(1), value(true), value(true)})});
  EXPECT_EQ(why(with_table(t)), "placement field 'catalog' has the wrong type");
  t.back() = {value("placed"), value(wire::map{{value("a"), value("x")}})};
  EXPECT_EQ(why(with_table(t)), "placement field 'placed' has the wrong type");
  t.back() = {value("leaving"), value(wire::map{{value("a"), value(wire::array{})}})};
  EXPECT_EQ(why(with_table(t)), "placement field 'leaving' has the wrong type");
  t.back() = {value("leaving"), value(wire::map{{
                                                    value("a"),
                                                    value("m"),
                                                },
                                                {value("a"), value("n")}})};
  EXPECT_EQ(why(with_table(t)), "placement field 'leaving' names 'a' twice");
  wire::map f = minimal();
  f.emplace_back(value("table"), value(1));
  EXPECT_EQ(why(bytes_of(value(f))), "placement field 'table' has the wrong type");
}

TEST(placement_codec, DeepNestingIsRefused) {
  wire::map f = minimal();
  f.emplace_back(
      value("x"),
      value(wire::array{value(wire::array{value(wire::array{value(wire::array{value(1)})})})}));
  EXPECT_EQ(why(bytes_of(value(f))).rfind("malformed placement: ", 0), 0u);
}

}  // namespace
}  // namespace brood::legion

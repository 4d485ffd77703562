// The legion frame (docs/protocol.md §14): round trips and every refused input, named.
#include "brood/legion/message.hpp"

#include <gtest/gtest.h>

#include "brood/wire/msgpack_codec.hpp"

namespace brood::legion {
namespace {

using wire::value;

message sample() {
  message m;
  m.type = message_type::lease_grant;
  m.legion = "web";
  m.from = "127.0.0.1:4001";
  m.uuid = "6f1c2d3e-0000-4000-8000-00000000abcd";
  m.seq = 0xfffffffffffffff0ULL;
  m.unix_ms = 1765000000123;
  m.valor = -7;
  m.hostname = "alpha";
  m.pid = 4242;
  m.scroll = std::string("bin\0ary", 7);
  m.epoch = 17;
  m.lord_uuid = "ffffffff-0000-4000-8000-00000000abcd";
  m.ref = 99;
  m.granted = true;
  m.hears = 3;
  m.payload = "{\"legion\":\"web\"}";
  return m;
}

// A body of named fields as a msgpack map, sealed with the key.
std::vector<std::uint8_t> frame_of(const wire::map& fields, const key& k) {
  return seal_frame(wire::encode_msgpack(value(fields)), k);
}

wire::map minimal_fields() {
  return {{value("type"), value(1)},     {value("legion"), value("web")},
          {value("from"), value("h:1")}, {value("uuid"), value("u")},
          {value("seq"), value(5)},      {value("unix_ms"), value(1000)}};
}

class legion_message_test : public ::testing::Test {
 protected:
  key k_ = derive_key("web", "aes-128-cbc:s3cr3t");
  decode_limits lim_;
  message out_;

  std::string why(const std::vector<std::uint8_t>& frame) {
    const decode_result r = decode_message(frame, k_, lim_, out_);
    EXPECT_FALSE(r.ok);
    return r.why;
  }
};

TEST_F(legion_message_test, RoundTripKeepsEveryField) {
  const message m = sample();
  const auto frame = encode_message(m, k_);
  const decode_result r = decode_message(frame, k_, lim_, out_);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(out_.type, m.type);
  EXPECT_EQ(out_.legion, m.legion);
  EXPECT_EQ(out_.from, m.from);
  EXPECT_EQ(out_.uuid, m.uuid);
  EXPECT_EQ(out_.seq, m.seq);
  EXPECT_EQ(out_.unix_ms, m.unix_ms);
  EXPECT_EQ(out_.valor, m.valor);
  EXPECT_EQ(out_.hostname, m.hostname);
  EXPECT_EQ(out_.pid, m.pid);
  EXPECT_EQ(out_.scroll, m.scroll);
  EXPECT_EQ(out_.epoch, m.epoch);
  EXPECT_EQ(out_.lord_uuid, m.lord_uuid);
  EXPECT_EQ(out_.ref, m.ref);
  EXPECT_EQ(out_.granted, m.granted);
  EXPECT_EQ(out_.hears, m.hears);
  EXPECT_EQ(out_.payload, m.payload);
}

TEST_F(legion_message_test, EveryTypeRoundTrips) {
  for (int t = 1; t <= 10; ++t) {
    message m = sample();
    m.type = static_cast<message_type>(t);
    ASSERT_TRUE(decode_message(encode_message(m, k_), k_, lim_, out_).ok) << t;
    EXPECT_EQ(out_.type, m.type);
  }
}

TEST_F(legion_message_test, DerivedKeysDependOnNameAndSecret) {
  EXPECT_EQ(derive_key("web", "s"), derive_key("web", "s"));
  EXPECT_NE(derive_key("web", "s"), derive_key("web", "t"));
  EXPECT_NE(derive_key("web", "s"), derive_key("db", "s"));
  EXPECT_NE(derive_key("ab", "c"), derive_key("a", "bc"));  // the separator counts
}

TEST_F(legion_message_test, MinimalMessageGetsDefaults) {
  ASSERT_TRUE(decode_message(frame_of(minimal_fields(), k_), k_, lim_, out_).ok);
  EXPECT_EQ(out_.type, message_type::heartbeat);
  EXPECT_EQ(out_.seq, 5u);
  EXPECT_EQ(out_.epoch, 0u);
  EXPECT_FALSE(out_.granted);
}

TEST_F(legion_message_test, UnknownFieldsAreSkipped) {
  wire::map f = minimal_fields();
  f.emplace_back(value("future"), value(wire::array{value(1), value("x")}));
  ASSERT_TRUE(decode_message(frame_of(f, k_), k_, lim_, out_).ok);
}

TEST_F(legion_message_test, BadMacIsNamed) {
  auto frame = encode_message(sample(), k_);
  EXPECT_NE(why(encode_message(sample(), derive_key("web", "other"))).find("bad mac"),
            std::string::npos);
  frame[3] ^= 1;  // a body byte
  EXPECT_NE(why(frame).find("bad mac"), std::string::npos);
  frame[3] ^= 1;
  frame.back() ^= 0x80;  // a mac byte
  EXPECT_NE(why(frame).find("bad mac"), std::string::npos);
}

TEST_F(legion_message_test, TruncatedFramesAreNamed) {
  auto frame = encode_message(sample(), k_);
  EXPECT_NE(why({}).find("truncated"), std::string::npos);
  EXPECT_NE(why(std::vector<std::uint8_t>(frame.end() - 32, frame.end())).find("truncated"),
            std::string::npos);
  // Cut anywhere: the mac no longer matches.
  frame.resize(frame.size() - 5);
  EXPECT_NE(why(frame).find("bad mac"), std::string::npos);
  // A body cut short but sealed (only a key holder can do that): malformed.
  auto body = wire::encode_msgpack(value(minimal_fields()));
  body.resize(body.size() - 2);
  EXPECT_NE(why(seal_frame(body, k_)).find("malformed body"), std::string::npos);
}

TEST_F(legion_message_test, OversizeFrameRefusedBeforeParsing) {
  message m = sample();
  m.payload.assign(70000, 'x');
  EXPECT_NE(why(encode_message(m, k_)).find("oversize frame"), std::string::npos);
  lim_.max_frame = 100;
  EXPECT_NE(why(encode_message(sample(), k_)).find("oversize frame"), std::string::npos);
}

TEST_F(legion_message_test, LongStringsAreRefused) {
  message m = sample();
  m.scroll.assign(5000, 's');
  EXPECT_NE(why(encode_message(m, k_)).find("field 'scroll' is too long"), std::string::npos);
  m = sample();
  m.payload.assign(5000, 'p');  // payload may use the whole frame
  EXPECT_TRUE(decode_message(encode_message(m, k_), k_, lim_, out_).ok);
}

TEST_F(legion_message_test, WrongTypesAreNamed) {
  const std::vector<std::pair<std::string, value>> cases = {
      {"seq", value("5")},          {"seq", value(-1)},
      {"unix_ms", value(1.5)},      {"legion", value(7)},
      {"granted", value(1)},        {"epoch", value(true)},
      {"uuid", value(wire::nil{})}, {"valor", value("9")},
      {"hears", value(-3)},         {"payload", value(wire::binary{})},
  };
  for (const auto& [name, v] : cases) {
    wire::map f = minimal_fields();
    bool replaced = false;
    for (auto& [k, x] : f) {
      if (k.as<std::string>() == name) x = v, replaced = true;
    }
    if (!replaced) f.emplace_back(value(name), v);
    EXPECT_EQ(why(frame_of(f, k_)), "field '" + name + "' has the wrong type") << name;
  }
}

TEST_F(legion_message_test, OutOfRangeValuesAreNamed) {
  wire::map f = minimal_fields();
  f[0].second = value(12);
  EXPECT_EQ(why(frame_of(f, k_)), "field 'type' has an unknown value 12");
  f = minimal_fields();
  f.emplace_back(value("hears"), value(std::uint64_t{1} << 40));
  EXPECT_NE(why(frame_of(f, k_)).find("field 'hears' is out of range"), std::string::npos);
  f = minimal_fields();
  f.emplace_back(value("pid"), value(std::uint64_t{1} << 63));
  EXPECT_NE(why(frame_of(f, k_)).find("field 'pid' is out of range"), std::string::npos);
}

TEST_F(legion_message_test, MissingDuplicatedAndBadShapes) {
  wire::map f = minimal_fields();
  f.erase(f.begin() + 3);  // uuid
  EXPECT_EQ(why(frame_of(f, k_)), "field 'uuid' is missing");
  f = minimal_fields();
  f.emplace_back(value("seq"), value(6));
  EXPECT_EQ(why(frame_of(f, k_)), "field 'seq' appears twice");
  f = minimal_fields();
  f.emplace_back(value(3), value(6));
  EXPECT_EQ(why(frame_of(f, k_)), "a field name is not a string");
  EXPECT_EQ(why(seal_frame(wire::encode_msgpack(value(wire::array{value(1)})), k_)),
            "body is not a msgpack map");
  f = minimal_fields();
  for (int i = 0; i < 40; ++i) f.emplace_back(value("x" + std::to_string(i)), value(i));
  EXPECT_NE(why(frame_of(f, k_)).find("too many fields"), std::string::npos);
  // Trailing bytes after the map.
  auto body = wire::encode_msgpack(value(minimal_fields()));
  body.push_back(0xc0);
  EXPECT_NE(why(seal_frame(body, k_)).find("malformed body"), std::string::npos);
  // Deep nesting inside an unknown field.
  value deep(wire::array{});
  for (int i = 0; i < 10; ++i) deep = value(wire::array{deep});
  f = minimal_fields();
  f.emplace_back(value("deep"), deep);
  EXPECT_NE(why(frame_of(f, k_)).find("malformed body"), std::string::npos);
}

TEST_F(legion_message_test, FailedDecodeLeavesOutputUntouched) {
  out_.legion = "before";
  wire::map f = minimal_fields();
  f.emplace_back(value("seq"), value(6));
  why(frame_of(f, k_));
  EXPECT_EQ(out_.legion, "before");
}

}  // namespace
}  // namespace brood::legion

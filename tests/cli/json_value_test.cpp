// JSON <-> wire::value for `brood call` (cli/src/json_value.cpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "json_value.hpp"

namespace brood::cli {
namespace {

using wire::value;

class json_value_test : public ::testing::Test {
 protected:
  static value from(std::string_view text) {
    json_result r = value_from_json(text);
    EXPECT_TRUE(r.value.has_value()) << r.error;
    return r.value.value_or(value{});
  }
  // value -> JSON -> value gives the value back.
  static void round_trip(const value& v) {
    std::string text = value_to_json(v);
    json_result back = value_from_json(text);
    ASSERT_TRUE(back.value) << back.error << " for " << text;
    EXPECT_EQ(*back.value, v) << text;
  }
};

TEST_F(json_value_test, Scalars) {
  EXPECT_TRUE(from("null").is_nil());
  EXPECT_EQ(from("true"), value(true));
  EXPECT_EQ(from("-5"), value(-5));
  EXPECT_EQ(from("18446744073709551615"), value(std::numeric_limits<std::uint64_t>::max()));
  EXPECT_EQ(from("1.5"), value(1.5));
  EXPECT_EQ(from("\"hi\""), value("hi"));
  EXPECT_EQ(value_to_json(value()), "null");
  EXPECT_EQ(value_to_json(value(false)), "false");
  EXPECT_EQ(value_to_json(value(-7)), "-7");
  EXPECT_EQ(value_to_json(value("a\"b")), "\"a\\\"b\"");
}

TEST_F(json_value_test, ArraysAndObjects) {
  EXPECT_EQ(from("[1, 2]"), value(wire::array{1, 2}));
  EXPECT_EQ(value_to_json(wire::array{1, 2}), "[1,2]");
  value obj = from("{\"b\": 1, \"a\": [true, null]}");
  ASSERT_TRUE(obj.is<wire::map>());
  const auto& m = obj.as<wire::map>();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].first, value("b"));  // order kept
  EXPECT_EQ(m[1].second, value(wire::array{true, value()}));
  EXPECT_EQ(value_to_json(obj), "{\"b\":1,\"a\":[true,null]}");
}

TEST_F(json_value_test, RoundTrips) {
  round_trip(value());
  round_trip(wire::array{1, -2, 3.25, "x", wire::array{}, wire::map{}});
  round_trip(wire::map{{"count", 5}, {"nested", wire::map{{"k", wire::array{true}}}}});
  round_trip(std::numeric_limits<std::int64_t>::min());
  round_trip(std::numeric_limits<std::uint64_t>::max());
  for (std::size_t n = 0; n < 6; ++n) round_trip(wire::binary{wire::bytes(n, 0xA5)});
  round_trip(wire::binary{wire::bytes{0, 1, 2, 250, 255}});
  round_trip(wire::extension{-3, wire::bytes{0xde, 0xad}});
  round_trip(wire::extension{127, {}});
  round_trip(wire::map{{1, "one"}, {"two", 2}});  // a non-string key
}

TEST_F(json_value_test, SpecialForms) {
  EXPECT_EQ(value_to_json(wire::binary{wire::bytes{'h', 'e', 'l', 'l', 'o'}}),
            "{\"$binary\":\"aGVsbG8=\"}");
  EXPECT_EQ(from("{\"$binary\": \"aGk=\"}"), value(wire::binary{wire::bytes{'h', 'i'}}));
  EXPECT_EQ(value_to_json(wire::extension{5, wire::bytes{0x0f, 0xa0}}),
            "{\"$ext\":5,\"data\":\"0fa0\"}");
  EXPECT_EQ(value_to_json(wire::map{{1, 2}}), "{\"$map\":[[1,2]]}");
}

TEST_F(json_value_test, InvalidUtf8IsReplaced) {
  std::string text =
      value_to_json(value(std::string("a\xff"
                                      "b")));
  EXPECT_EQ(text,
            "\"a\xEF\xBF\xBD"
            "b\"");
}

TEST_F(json_value_test, ErrorsSayWhat) {
  EXPECT_NE(value_from_json("[1,").error.find("bad JSON"), std::string::npos);
  EXPECT_FALSE(value_from_json("").value);
  EXPECT_NE(value_from_json("{\"$binary\": \"a\"}").error.find("$binary"), std::string::npos);
  EXPECT_NE(value_from_json("{\"$binary\": \"a!==\"}").error.find("$binary"), std::string::npos);
  EXPECT_NE(value_from_json("{\"$ext\": 300, \"data\": \"\"}").error.find("$ext"),
            std::string::npos);
  EXPECT_NE(value_from_json("{\"$ext\": 1, \"data\": \"zz\"}").error.find("$ext"),
            std::string::npos);
  EXPECT_NE(value_from_json("{\"$map\": [[1]]}").error.find("$map"), std::string::npos);
}

}  // namespace
}  // namespace brood::cli

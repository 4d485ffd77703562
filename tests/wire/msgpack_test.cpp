// msgpack encoding of brood::wire::value (the payload of modifier1 33).
#include "brood/wire/msgpack_codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace brood::wire {
namespace {

class msgpack_test : public ::testing::Test {
 protected:
  decode_result decode(const bytes& b) { return decode_msgpack(b, lim, out); }
  static bytes raw(std::initializer_list<int> v) {
    bytes b;
    for (int x : v) b.push_back(static_cast<byte>(x));
    return b;
  }
  // Encodes, decodes, and expects the same value back.
  void expect_round_trip(const value& v) {
    const bytes b = encode_msgpack(v);
    const decode_result r = decode(b);
    ASSERT_TRUE(r.is_done()) << r.why << " for " << to_string(v);
    EXPECT_EQ(r.consumed, b.size());
    EXPECT_EQ(out, v) << to_string(out) << " != " << to_string(v);
  }
  static value nested_arrays(std::size_t depth) {
    value v = 1;
    for (std::size_t i = 0; i < depth; ++i) v = array{v};
    return v;
  }

  limits lim;
  value out;
};

TEST_F(msgpack_test, ScalarsRoundTrip) {
  for (const value& v :
       {value(nil{}), value(true), value(false), value(0), value(-1), value(127), value(128),
        value(-32), value(-33), value(65536), value(std::numeric_limits<std::int64_t>::min()),
        value(std::numeric_limits<std::uint64_t>::max()), value(1.0), value(-0.5), value(1e300),
        value("")}) {
    expect_round_trip(v);
  }
}

TEST_F(msgpack_test, IntegersUseSmallestForm) {
  EXPECT_EQ(encode_msgpack(5), raw({0x05}));
  EXPECT_EQ(encode_msgpack(-1), raw({0xff}));
  EXPECT_EQ(encode_msgpack(200), raw({0xcc, 200}));
  EXPECT_EQ(encode_msgpack(-100), raw({0xd0, 0x9c}));
  EXPECT_EQ(encode_msgpack(70000u), raw({0xce, 0, 1, 0x11, 0x70}));
  EXPECT_EQ(encode_msgpack(std::numeric_limits<std::uint64_t>::max()).size(), 9u);
}

TEST_F(msgpack_test, NonNegativeInt64IsWrittenUnsignedAndReadBackEqual) {
  const value v{std::int64_t{42}};
  ASSERT_TRUE(decode(encode_msgpack(v)).is_done());
  EXPECT_TRUE(out.is<std::uint64_t>());
  EXPECT_EQ(out, v);
  ASSERT_TRUE(decode(encode_msgpack(-42)).is_done());
  EXPECT_TRUE(out.is<std::int64_t>());
}

TEST_F(msgpack_test, DoublesStayDoublesEvenWhenIntegral) {
  EXPECT_EQ(encode_msgpack(2.0), raw({0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(decode(encode_msgpack(2.0)).is_done());
  EXPECT_TRUE(out.is<double>());
}

TEST_F(msgpack_test, NanRoundTripsAsNan) {
  ASSERT_TRUE(decode(encode_msgpack(std::nan(""))).is_done());
  ASSERT_TRUE(out.is<double>());
  EXPECT_TRUE(std::isnan(out.as<double>()));
}

TEST_F(msgpack_test, Float32DecodesToDouble) {
  ASSERT_TRUE(decode(raw({0xca, 0x3f, 0xc0, 0, 0})).is_done());
  EXPECT_EQ(out, value(1.5));
}

TEST_F(msgpack_test, StringsOfEveryLengthForm) {
  for (std::size_t n : {0u, 31u, 32u, 255u, 256u, 65535u, 65536u, 70000u}) {
    expect_round_trip(std::string(n, 's'));
  }
}

TEST_F(msgpack_test, BinaryAndExtensionRoundTrip) {
  expect_round_trip(binary{});
  expect_round_trip(binary{bytes(300, 7)});
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 8u, 16u, 17u, 300u, 70000u}) {
    expect_round_trip(extension{-5, bytes(n, 9)});
  }
}

TEST_F(msgpack_test, BinaryIsNotString) {
  ASSERT_TRUE(decode(encode_msgpack(binary{{'a'}})).is_done());
  EXPECT_TRUE(out.is<binary>());
  EXPECT_NE(out, value("a"));
}

TEST_F(msgpack_test, MapsKeepOrderDuplicatesAndAnyKeyType) {
  const map m{{"z", 1}, {"a", 2}, {3, "three"}, {array{1, 2}, nil{}}, {"z", 4}};
  expect_round_trip(m);
  ASSERT_EQ(out.as<map>().size(), 5u);
  EXPECT_EQ(out.as<map>()[0].first, value("z"));
  EXPECT_EQ(out.as<map>()[4].second, value(4));
}

TEST_F(msgpack_test, BigNestedContainers) {
  array big;
  for (int i = 0; i < 20000; ++i) big.push_back(i % 3 ? value(i) : value(map{{"i", i}}));
  map wide;
  for (int i = 0; i < 5000; ++i) wide.emplace_back(std::to_string(i), array{i, -i, "x"});
  expect_round_trip(array{big, wide, nested_arrays(30)});
}

TEST_F(msgpack_test, DepthAtTheLimitIsAccepted) {
  expect_round_trip(nested_arrays(lim.max_depth));
  expect_round_trip(map{{"k", nested_arrays(lim.max_depth - 1)}});
}

TEST_F(msgpack_test, DepthOverTheLimitIsRefused) {
  const bytes b = encode_msgpack(nested_arrays(lim.max_depth + 1));
  const decode_result r = decode(b);
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::msgpack_too_deep);
  EXPECT_EQ(r.why, "msgpack nesting deeper than 64 levels in a 66-byte payload");
}

TEST_F(msgpack_test, CustomDepthLimitCountsMapsToo) {
  lim.max_depth = 2;
  EXPECT_TRUE(decode(encode_msgpack(map{{"a", array{1}}})).is_done());
  EXPECT_EQ(decode(encode_msgpack(map{{"a", array{map{}}}})).error, errc::msgpack_too_deep);
  lim.max_depth = 0;
  EXPECT_TRUE(decode(encode_msgpack("scalar")).is_done());
  EXPECT_EQ(decode(encode_msgpack(array{})).error, errc::msgpack_too_deep);
}

TEST_F(msgpack_test, Malformed) {
  const decode_result r = decode(raw({0x92, 0x01, 0xc1}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::msgpack_malformed);
  EXPECT_EQ(r.why, "invalid msgpack type byte 0xc1 at offset 2 of a 3-byte payload");
}

TEST_F(msgpack_test, TruncatedInsideAnArray) {
  const decode_result r = decode(raw({0x93, 0x01, 0x02}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::msgpack_truncated);
  EXPECT_EQ(r.why, "msgpack object cut off at offset 3, the end of a 3-byte payload");
}

TEST_F(msgpack_test, TruncatedEmptyPayload) {
  const decode_result r = decode({});
  EXPECT_EQ(r.error, errc::msgpack_truncated);
  EXPECT_EQ(r.why, "msgpack object cut off at offset 0, the end of a 0-byte payload");
}

TEST_F(msgpack_test, TruncatedInsideAString) {
  EXPECT_EQ(decode(raw({0xa5, 'a', 'b'})).error, errc::msgpack_truncated);
  EXPECT_EQ(decode(raw({0xcd, 0x01})).error, errc::msgpack_truncated);
}

TEST_F(msgpack_test, DeclaredCountLargerThanPayloadIsTruncated) {
  const decode_result r = decode(raw({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::msgpack_truncated);
  EXPECT_EQ(r.why, "msgpack array size overflow: a declared length exceeds the 6-byte payload");
  EXPECT_EQ(decode(raw({0xdf, 0xff, 0xff, 0xff, 0xff})).error, errc::msgpack_truncated);
}

TEST_F(msgpack_test, Trailing) {
  const decode_result r = decode(raw({0x01, 0x02, 0x03}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::msgpack_trailing);
  EXPECT_EQ(r.why, "2 bytes left after the msgpack object ending at offset 1 of a 3-byte payload");
}

TEST_F(msgpack_test, AppendKeepsExistingBytes) {
  bytes b{0xaa};
  append_msgpack(b, array{1, "x"});
  EXPECT_EQ(b, raw({0xaa, 0x92, 0x01, 0xa1, 'x'}));
}

}  // namespace
}  // namespace brood::wire

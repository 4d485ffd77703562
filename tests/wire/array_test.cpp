// The uwsgi array (docs/protocol.md §3): [u16 LE len][bytes] repeated.
#include "brood/wire/array.hpp"

#include <gtest/gtest.h>

#include <string>

namespace brood::wire {
namespace {

class array_test : public ::testing::Test {
 protected:
  decode_result decode(const bytes& b) { return decode_array(b, lim, out); }
  static bytes raw(std::initializer_list<int> v) {
    bytes b;
    for (int x : v) b.push_back(static_cast<byte>(x));
    return b;
  }
  static bytes items_block(std::size_t n) {
    std::vector<std::string_view> items(n, "it");
    bytes b;
    EXPECT_FALSE(append_array(b, items));
    return b;
  }

  limits lim;
  std::vector<std::string_view> out;
};

TEST_F(array_test, RoundTripWithEmptyItems) {
  const std::vector<std::string_view> in{"hello", "", "world", ""};
  bytes b;
  ASSERT_FALSE(append_array(b, in));
  const decode_result r = decode(b);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, b.size());
  EXPECT_EQ(out, in);
}

TEST_F(array_test, WireLayout) {
  bytes b;
  ASSERT_FALSE(append_array(b, {"ab", ""}));
  EXPECT_EQ(b, raw({2, 0, 'a', 'b', 0, 0}));
}

TEST_F(array_test, EmptyBlock) {
  ASSERT_TRUE(decode({}).is_done());
  EXPECT_TRUE(out.empty());
}

TEST_F(array_test, ItemOverrun) {
  const decode_result r = decode(raw({1, 0, 'a', 9, 0, 'b'}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::item_overrun);
  EXPECT_EQ(r.why, "item length 9 at offset 3 overruns a 6-byte block");
}

TEST_F(array_test, TruncatedLength) {
  const decode_result r = decode(raw({1, 0, 'a', 1}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::truncated_length);
  EXPECT_EQ(r.why,
            "item length field at offset 3 truncated (2 bytes needed, 1 left) in a 4-byte block");
}

TEST_F(array_test, DefaultLimitAllows128Items) {
  EXPECT_TRUE(decode(items_block(128)).is_done());
  EXPECT_EQ(out.size(), 128u);
}

TEST_F(array_test, DefaultLimitRefuses129Items) {
  const decode_result r = decode(items_block(129));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::too_many_vars);
  EXPECT_EQ(r.why, "more than 128 items (max-vars 64)");
}

TEST_F(array_test, CustomLimit) {
  lim.max_vars = 1;
  EXPECT_TRUE(decode(items_block(2)).is_done());
  EXPECT_EQ(decode(items_block(3)).why, "more than 2 items (max-vars 1)");
}

TEST_F(array_test, AppendRefusesItemOver65535) {
  const std::string big(65536, 'x');
  bytes b;
  EXPECT_EQ(append_array(b, {"ok", big}), errc::field_too_long);
  EXPECT_TRUE(b.empty());
  const std::string max(65535, 'x');
  ASSERT_FALSE(append_array(b, {max}));
  ASSERT_TRUE(decode(b).is_done());
  EXPECT_EQ(out[0].size(), 65535u);
}

}  // namespace
}  // namespace brood::wire

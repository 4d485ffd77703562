// The uwsgi vars block (docs/protocol.md §2) and its limits (§4).
#include "brood/wire/vars.hpp"

#include <gtest/gtest.h>

#include <string>

namespace brood::wire {
namespace {

class vars_test : public ::testing::Test {
 protected:
  decode_result decode(const bytes& b) { return decode_vars(b, lim, out); }
  static bytes raw(std::initializer_list<int> v) {
    bytes b;
    for (int x : v) b.push_back(static_cast<byte>(x));
    return b;
  }
  // A block of n records "kI" = "vI".
  static bytes block_of(std::size_t n, std::vector<std::string>& storage) {
    storage.clear();
    for (std::size_t i = 0; i < n; ++i)
      storage.push_back(std::string("k").append(std::to_string(i)));
    std::vector<var> vars;
    for (const auto& k : storage) vars.push_back({k, k});
    bytes b;
    EXPECT_FALSE(append_vars(b, vars));
    return b;
  }

  limits lim;
  std::vector<var> out;
};

TEST_F(vars_test, RoundTrip) {
  const std::vector<var> in{{"PATH_INFO", "/x"}, {"REQUEST_METHOD", "GET"}, {"EMPTY", ""}};
  bytes b;
  ASSERT_FALSE(append_vars(b, in));
  const decode_result r = decode(b);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, b.size());
  EXPECT_EQ(out, in);
}

TEST_F(vars_test, WireLayoutIsLittleEndianLengths) {
  bytes b;
  ASSERT_FALSE(append_vars(b, {{"ab", "c"}}));
  EXPECT_EQ(b, raw({2, 0, 'a', 'b', 1, 0, 'c'}));
}

TEST_F(vars_test, EmptyBlockHasNoVars) {
  out.push_back({"stale", "x"});
  const decode_result r = decode({});
  ASSERT_TRUE(r.is_done());
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_TRUE(out.empty());
}

TEST_F(vars_test, EmptyValueOnLastRecordIsAccepted) {
  const bytes b = raw({1, 0, 'k', 0, 0});
  const decode_result r = decode(b);
  ASSERT_TRUE(r.is_done()) << r.why;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (var{"k", ""}));
}

TEST_F(vars_test, ViewsPointIntoTheBlock) {
  const bytes b = raw({1, 0, 'k', 1, 0, 'v'});
  ASSERT_TRUE(decode(b).is_done());
  EXPECT_EQ(out[0].key.data(), reinterpret_cast<const char*>(b.data()) + 2);
}

TEST_F(vars_test, ZeroKeyLength) {
  const decode_result r = decode(raw({1, 0, 'k', 1, 0, 'v', 0, 0, 1, 0, 'x'}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::zero_key_length);
  EXPECT_EQ(r.why, "zero key length at offset 6 in a 11-byte block");
}

TEST_F(vars_test, KeyOverrun) {
  bytes b = raw({1, 0, 'k', 1, 0, 'v', 0xff, 0xff});
  b.resize(40, 'z');
  const decode_result r = decode(b);
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::key_overrun);
  EXPECT_EQ(r.why, "key length 65535 at offset 6 overruns a 40-byte block");
}

TEST_F(vars_test, ValueOverrun) {
  const decode_result r = decode(raw({3, 0, 'a', 'b', 'c', 9, 0, 'x', 'y'}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::value_overrun);
  EXPECT_EQ(r.why, "value length 9 at offset 5 overruns a 9-byte block");
}

TEST_F(vars_test, TruncatedKeyLength) {
  const decode_result r = decode(raw({1, 0, 'k', 1, 0, 'v', 7}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::truncated_length);
  EXPECT_EQ(r.why,
            "key length field at offset 6 truncated (2 bytes needed, 1 left) in a 7-byte block");
}

TEST_F(vars_test, TruncatedValueLength) {
  const decode_result r = decode(raw({1, 0, 'k'}));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::truncated_length);
  EXPECT_EQ(r.why,
            "value length field at offset 3 truncated (2 bytes needed, 0 left) in a 3-byte block");
}

TEST_F(vars_test, KeyRunningExactlyToTheEndLacksValueLength) {
  const decode_result r = decode(raw({2, 0, 'a', 'b'}));
  EXPECT_EQ(r.error, errc::truncated_length);
}

TEST_F(vars_test, DefaultMaxVarsAllows128Pairs) {
  std::vector<std::string> keys;
  const bytes b = block_of(128, keys);
  const decode_result r = decode(b);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(out.size(), 128u);
  EXPECT_EQ(out[127], (var{"k127", "k127"}));
}

TEST_F(vars_test, DefaultMaxVarsRefuses129Pairs) {
  std::vector<std::string> keys;
  const decode_result r = decode(block_of(129, keys));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::too_many_vars);
  EXPECT_EQ(r.why, "more than 128 vars (max-vars 64)");
}

TEST_F(vars_test, CustomMaxVars) {
  lim.max_vars = 2;
  std::vector<std::string> keys;
  EXPECT_TRUE(decode(block_of(4, keys)).is_done());
  const decode_result r = decode(block_of(5, keys));
  EXPECT_EQ(r.why, "more than 4 vars (max-vars 2)");
}

TEST_F(vars_test, LongestFieldsRoundTrip) {
  const std::string k(65535, 'k'), v(65535, 'v');
  bytes b;
  ASSERT_FALSE(append_vars(b, {{k, v}}));
  ASSERT_TRUE(decode(b).is_done());
  EXPECT_EQ(out[0].key.size(), 65535u);
  EXPECT_EQ(out[0].value.size(), 65535u);
}

TEST_F(vars_test, AppendRefusesLongOrEmptyFieldsAndLeavesOutUnchanged) {
  const std::string big(65536, 'x');
  bytes b{1, 2};
  EXPECT_EQ(append_vars(b, {{"ok", "1"}, {big, "v"}}), errc::field_too_long);
  EXPECT_EQ(append_vars(b, {{"k", big}}), errc::field_too_long);
  EXPECT_EQ(append_vars(b, {{"", "v"}}), errc::field_too_long);
  EXPECT_EQ(b, raw({1, 2}));
}

TEST_F(vars_test, FindVarReturnsFirstMatch) {
  const std::vector<var> vars{{"a", "1"}, {"b", ""}, {"a", "2"}};
  EXPECT_EQ(find_var(vars, "a").value, "1");
  EXPECT_TRUE(find_var(vars, "b").found);
  EXPECT_EQ(find_var(vars, "b").value, "");
  EXPECT_FALSE(find_var(vars, "c").found);
}

}  // namespace
}  // namespace brood::wire

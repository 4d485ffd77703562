// brood::wire::value: equality, integer access, the human form.
#include "brood/wire/value.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

namespace brood::wire {
namespace {

class value_test : public ::testing::Test {
 protected:
  const value big_unsigned{std::numeric_limits<std::uint64_t>::max()};
};

TEST_F(value_test, ConstructorsPickTheAlternative) {
  EXPECT_TRUE(value().is_nil());
  EXPECT_TRUE(value(3).is<std::int64_t>());
  EXPECT_TRUE(value(3u).is<std::uint64_t>());
  EXPECT_TRUE(value("s").is<std::string>());
  EXPECT_TRUE(value(true).is<bool>());
  EXPECT_TRUE(value(1.5).is<double>());
  EXPECT_TRUE(value(array{}).is<array>());
  EXPECT_TRUE(value(map{}).is<map>());
}

TEST_F(value_test, SignedAndUnsignedOfTheSameNumberAreEqual) {
  EXPECT_EQ(value(7), value(7u));
  EXPECT_EQ(value(7u), value(7));
  EXPECT_NE(value(-1), big_unsigned);
  EXPECT_NE(big_unsigned, value(-1));
  EXPECT_EQ(value(array{1, map{{2, 3}}}), value(array{1u, map{{2u, 3u}}}));
}

TEST_F(value_test, DifferentAlternativesDiffer) {
  EXPECT_NE(value(1), value(1.0));
  EXPECT_NE(value(1), value(true));
  EXPECT_NE(value("a"), value(binary{{'a'}}));
  EXPECT_NE(value(nil{}), value(0));
  EXPECT_NE(value(extension{1, {2}}), value(extension{2, {2}}));
}

TEST_F(value_test, AsInt64) {
  EXPECT_EQ(value(-5).as_int64(), -5);
  EXPECT_EQ(value(5u).as_int64(), 5);
  const value max_fit{static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())};
  EXPECT_EQ(max_fit.as_int64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_THROW(big_unsigned.as_int64(), std::out_of_range);
  EXPECT_TRUE(big_unsigned.is_integer());
  EXPECT_FALSE(value(1.0).is_integer());
}

TEST_F(value_test, ToString) {
  EXPECT_EQ(to_string(array{1, 2, map{{"a", nil{}}}}), "[1, 2, {\"a\": nil}]");
  EXPECT_EQ(to_string(value(true)), "true");
  EXPECT_EQ(to_string(value(-3)), "-3");
  EXPECT_EQ(to_string(big_unsigned), "18446744073709551615");
  EXPECT_EQ(to_string(value(1.5)), "1.5");
  EXPECT_EQ(to_string(value("q\"\\\n\x01")), "\"q\\\"\\\\\\n\\u0001\"");
  EXPECT_EQ(to_string(binary{{0xab, 0x01}}), "<bin ab01>");
  EXPECT_EQ(to_string(extension{-2, {0xff}}), "<ext -2 ff>");
  EXPECT_EQ(to_string(map{}), "{}");
}

}  // namespace
}  // namespace brood::wire

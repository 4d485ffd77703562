// The subscription datagram codec: encode order, the sign record, and each refusal.
#include "brood/wire/subscription.hpp"

#include <gtest/gtest.h>

#include "brood/wire/header.hpp"

namespace brood::wire {
namespace {

bytes record(std::string_view k, std::string_view v) {
  bytes b;
  EXPECT_FALSE(append_vars(b, {{k, v}}));
  return b;
}

bytes datagram(std::uint8_t m2,
               const std::vector<std::pair<std::string_view, std::string_view>>& kv) {
  bytes body;
  for (auto& [k, v] : kv) {
    bytes r = record(k, v);
    body.insert(body.end(), r.begin(), r.end());
  }
  bytes out;
  EXPECT_FALSE(append_packet(out, 224, m2, body));
  return out;
}

decode_result decode(const bytes& d, subscription& s, bytes_view& base) {
  static std::vector<var> scratch;
  return decode_subscription(d, scratch, s, base);
}

TEST(subscription_test, EncodesTheRecordsInUwsgisOrder) {
  subscription s;
  s.key = "foobar.it";
  s.address = "127.0.0.1:3031";
  s.modifier1 = 5;
  s.cores = 4;
  s.load = 2;
  s.weight = 4;
  s.notify = "/tmp/n.sock";
  bytes got;
  ASSERT_FALSE(encode_subscription(s, got));
  EXPECT_EQ(got, datagram(0, {{"key", "foobar.it"},
                              {"address", "127.0.0.1:3031"},
                              {"modifier1", "5"},
                              {"modifier2", "0"},
                              {"cores", "4"},
                              {"load", "2"},
                              {"weight", "4"},
                              {"notify", "/tmp/n.sock"}}));
  s.unsubscribe = true;
  ASSERT_FALSE(encode_subscription(s, got));
  EXPECT_EQ(got[0], 224);
  EXPECT_EQ(got[3], 1);
}

TEST(subscription_test, DecodesWhatItEncodes) {
  subscription s;
  s.key = "k";
  s.address = "/run/n.sock";
  s.modifier2 = 9;
  s.weight = 7;
  s.unix_time = 1700000000;
  bytes d;
  ASSERT_FALSE(encode_subscription(s, d));
  subscription back;
  bytes_view base;
  ASSERT_TRUE(decode(d, back, base).is_done());
  EXPECT_EQ(back.key, "k");
  EXPECT_EQ(back.address, "/run/n.sock");
  EXPECT_EQ(back.modifier2, 9);
  EXPECT_EQ(back.weight, 7u);
  EXPECT_EQ(back.unix_time, 1700000000u);
  EXPECT_FALSE(back.unsubscribe);
  EXPECT_TRUE(back.sign.empty());
  EXPECT_TRUE(base.empty());
}

TEST(subscription_test, TheSignatureCoversTheBodyBeforeIt) {
  subscription s;
  s.key = "k";
  s.address = "127.0.0.1:1";
  s.unix_time = 5;
  bytes d;
  ASSERT_FALSE(encode_subscription(s, d));
  const bytes body(d.begin() + 4, d.end());
  const std::string sig = "SIGNATURE";
  ASSERT_FALSE(append_subscription_sign(d, as_bytes(sig)));
  EXPECT_EQ(decode_header(d).size, d.size() - 4);
  subscription back;
  bytes_view base;
  ASSERT_TRUE(decode(d, back, base).is_done());
  EXPECT_EQ(back.sign, sig);
  EXPECT_EQ(bytes(base.begin(), base.end()), body);
}

TEST(subscription_test, RefusesEachBrokenRule) {
  const std::string long_key(256, 'k');
  const std::vector<std::pair<bytes, std::string>> cases = {
      {bytes{224, 0}, "shorter than a header"},
      {[] {
         bytes d = datagram(0, {{"key", "k"}, {"address", "a"}});
         d.pop_back();
         return d;
       }(),
       "but"},
      {datagram(0, {{"key", "k"}, {"address", "a"}, {"color", "red"}}), "unknown key \"color\""},
      {datagram(0, {{"key", "k"}, {"key", "j"}, {"address", "a"}}), "repeated"},
      {datagram(0, {{"address", "a"}}), "no \"key\""},
      {datagram(0, {{"key", "k"}}), "no \"address\""},
      {datagram(0, {{"key", long_key}, {"address", "a"}}), "256-byte key"},
      {datagram(0, {{"key", "k"}, {"address", ""}}), "0-byte address"},
      {datagram(0, {{"key", "k"}, {"address", "a"}, {"weight", "x1"}}), "not a decimal"},
      {datagram(0, {{"key", "k"}, {"address", "a"}, {"modifier1", "256"}}), "over 255"},
      {datagram(0, {{"key", "k"}, {"address", "a"}, {"unix", "1"}, {"sign", "s"}, {"load", "1"}}),
       "not the last"},
      {datagram(0, {{"key", "k"}, {"address", "a"}, {"sign", "s"}}), "without \"unix\""},
  };
  for (const auto& [d, why] : cases) {
    subscription s;
    bytes_view base;
    const decode_result r = decode(d, s, base);
    ASSERT_TRUE(r.is_bad()) << why;
    EXPECT_EQ(r.error, errc::subscription_bad);
    EXPECT_NE(r.why.find(why), std::string::npos) << r.why;
  }
}

TEST(subscription_test, EncodingRefusesBadFields) {
  subscription s;
  s.key = "k";
  bytes d{1, 2};
  EXPECT_EQ(encode_subscription(s, d), errc::field_too_long);
  EXPECT_EQ(d, (bytes{1, 2}));
  const std::string big(300, 'x');
  s.address = "a";
  s.sni_crt = big;
  s.sni_key = big;
  s.sni_ca = big;
  s.notify = big;
  std::string huge(3000, 'n');
  s.notify = huge;
  EXPECT_FALSE(encode_subscription(s, d));  // 3000 + 900 < 4096
  const std::string sig(600, 's');
  EXPECT_EQ(append_subscription_sign(d, as_bytes(sig)), errc::payload_too_long);
}

// brood extension (docs/protocol.md §12.4): "keepalive=1", sent only when set.
TEST(subscription_test, TheKeepaliveKeyIsSentOnlyWhenSetAndDecodes) {
  subscription s;
  s.key = "k";
  s.address = "127.0.0.1:3031";
  bytes plain, kept;
  ASSERT_FALSE(encode_subscription(s, plain));
  s.keepalive = true;
  ASSERT_FALSE(encode_subscription(s, kept));
  const std::string p(plain.begin(), plain.end()), k(kept.begin(), kept.end());
  EXPECT_EQ(p.find("keepalive"), std::string::npos);
  const std::string record = std::string("\x09\x00keepalive\x01\x00", 13) + "1";
  EXPECT_NE(k.find(record), std::string::npos);
  EXPECT_EQ(kept.size(), plain.size() + record.size());
  subscription back;
  bytes_view base;
  ASSERT_TRUE(decode(kept, back, base).is_done());
  EXPECT_TRUE(back.keepalive);
  ASSERT_TRUE(decode(plain, back, base).is_done());
  EXPECT_FALSE(back.keepalive);
}

TEST(subscription_test, TheKeepaliveKeyMustBeADecimalAndNotRepeated) {
  subscription s;
  s.key = "k";
  s.address = "a:1";
  s.keepalive = true;
  bytes d;
  ASSERT_FALSE(encode_subscription(s, d));
  bytes twice = d;
  const std::vector<var> again{{"keepalive", "1"}};
  ASSERT_FALSE(append_vars(twice, again));
  const std::size_t size = twice.size() - 4;
  twice[1] = static_cast<byte>(size & 0xff);
  twice[2] = static_cast<byte>(size >> 8);
  subscription back;
  bytes_view base;
  decode_result r = decode(twice, back, base);
  EXPECT_TRUE(r.is_bad());
  EXPECT_NE(r.why.find("keepalive"), std::string::npos) << r.why;
  std::string text(d.begin(), d.end());
  text.replace(text.find("keepalive") + 11, 1, "x");
  bytes bad(text.begin(), text.end());
  r = decode(bad, back, base);
  EXPECT_TRUE(r.is_bad());
  EXPECT_NE(r.why.find("not a decimal"), std::string::npos) << r.why;
}

}  // namespace
}  // namespace brood::wire

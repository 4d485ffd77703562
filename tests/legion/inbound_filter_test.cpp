// What a ZeroMQ member drops before the election sees it (legion/src/inbound_filter.hpp).
#include "inbound_filter.hpp"

#include <gtest/gtest.h>

namespace brood::legion {
namespace {

constexpr std::int64_t now_ms = 1'800'000'000'000;

class inbound_filter_test : public ::testing::Test {
 protected:
  message msg(std::uint64_t seq, std::string uuid = "bbbbbbbb-0000-4000-8000-000000000002") {
    message m;
    m.type = message_type::heartbeat;
    m.legion = "web";
    m.from = "127.0.0.1:4002";
    m.uuid = std::move(uuid);
    m.seq = seq;
    m.unix_ms = now_ms;
    m.valor = 2;
    return m;
  }
  std::optional<message> offer(const message& m, const key& k) {
    why.clear();
    return filter.accept(encode_message(m, k), now_ms, why);
  }

  key k = derive_key("web", "aes-128-cbc:s3cr3t");
  inbound_filter filter{"web", k, "aaaaaaaa-0000-4000-8000-000000000001", milliseconds(60000)};
  std::string why;
};

TEST_F(inbound_filter_test, AcceptsAnAuthenticMessage) {
  auto m = offer(msg(1), k);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->from, "127.0.0.1:4002");
}

TEST_F(inbound_filter_test, DropsAnotherSecret) {
  EXPECT_FALSE(offer(msg(1), derive_key("web", "other")));
  EXPECT_NE(why.find("mac"), std::string::npos) << why;
}

TEST_F(inbound_filter_test, DropsAnotherLegionUnderTheSameKey) {
  message m = msg(1);
  m.legion = "db";
  EXPECT_FALSE(offer(m, k));
  EXPECT_EQ(why, "another legion 'db'");
}

TEST_F(inbound_filter_test, DropsOurOwnEcho) {
  EXPECT_FALSE(offer(msg(1, "aaaaaaaa-0000-4000-8000-000000000001"), k));
  EXPECT_EQ(why, "our own message");
}

TEST_F(inbound_filter_test, DropsSkewedClocksBothWays) {
  message m = msg(1);
  m.unix_ms = now_ms - 60001;
  EXPECT_FALSE(offer(m, k));
  EXPECT_EQ(why, "clock skew -60001 ms");
  m.unix_ms = now_ms + 60001;
  EXPECT_FALSE(offer(m, k));
  m.unix_ms = now_ms + 60000;
  EXPECT_TRUE(offer(m, k)) << why;
}

TEST_F(inbound_filter_test, DropsReplaysPerUuid) {
  ASSERT_TRUE(offer(msg(5), k));
  EXPECT_FALSE(offer(msg(5), k));
  EXPECT_EQ(why, "replayed seq 5 (last 5)");
  EXPECT_FALSE(offer(msg(4), k));
  EXPECT_TRUE(offer(msg(6), k));
  // A restarted member has a new uuid: its seq starts again.
  EXPECT_TRUE(offer(msg(1, "cccccccc-0000-4000-8000-000000000003"), k)) << why;
}

TEST_F(inbound_filter_test, DropsTruncatedAndGarbage) {
  std::vector<std::uint8_t> frame = encode_message(msg(1), k);
  frame.resize(frame.size() / 2);
  EXPECT_FALSE(filter.accept(frame, now_ms, why));
  EXPECT_FALSE(why.empty());
  std::vector<std::uint8_t> junk(100, 0xab);
  EXPECT_FALSE(filter.accept(junk, now_ms, why));
  EXPECT_FALSE(filter.accept({}, now_ms, why));
}

}  // namespace
}  // namespace brood::legion

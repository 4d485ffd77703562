// spool() (remote enqueue, modifier1 17) against in-process servers that answer as uWSGI 2.0
// does: the exact request bytes, the two bare replies, foreign replies, size limits, and pooled
// connections that the server closes after each answer.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "brood/client/spool.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/vars.hpp"
#include "client_test_server.hpp"

namespace brood::client {
namespace {

using namespace testing::client_tests;

constexpr std::uint8_t spooler_m1 = wire::to_byte(wire::modifier1::spooler);
constexpr std::uint8_t response = wire::to_byte(wire::modifier1::response);
constexpr std::uint8_t ok_m2 = wire::to_byte(wire::response_modifier2::success);
constexpr std::uint8_t fail_m2 = wire::to_byte(wire::response_modifier2::failure);

// A spooler that records every request and answers FF 00 00 01 (or `m2`).
class fake_spooler {
 public:
  explicit fake_spooler(bool one_shot, std::uint8_t m2 = ok_m2)
      : server_(
            [this, m2](const wire::header& h, wire::bytes_view p, int) {
              std::lock_guard lock(mu_);
              heads_.push_back(h);
              payloads_.emplace_back(p.begin(), p.end());
              return action::reply(packet_bytes(response, m2, {}));
            },
            {}, one_shot) {}

  const std::string& address() const { return server_.address(); }
  int accepted() const { return server_.accepted(); }
  std::vector<wire::header> heads() {
    std::lock_guard lock(mu_);
    return heads_;
  }
  std::vector<wire::bytes> payloads() {
    std::lock_guard lock(mu_);
    return payloads_;
  }

 private:
  std::mutex mu_;
  std::vector<wire::header> heads_;
  std::vector<wire::bytes> payloads_;
  test_server server_;  // last: stopped first, before the vectors it writes go away
};

std::vector<std::pair<std::string, std::string>> decoded(const wire::bytes& block) {
  std::vector<wire::var> vars;
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  EXPECT_TRUE(wire::decode_vars(block, lim, vars).is_done());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& v : vars) out.emplace_back(v.key, v.value);
  return out;
}

class spool_client_test : public ::testing::Test {
 protected:
  const std::string binary_body_{"raw\0b", 5};
};

TEST_F(spool_client_test, SendsTheVarsBlockWithModifier1Equal17AndTheBodyAsAVar) {
  fake_spooler s(false);
  auto r =
      spool(s.address(), {{"task", "resize"}, {"size", "42"}, {"empty", ""}}, binary_body_, 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  ASSERT_EQ(s.heads().size(), 1u);
  EXPECT_EQ(s.heads()[0].modifier1, spooler_m1);
  EXPECT_EQ(s.heads()[0].modifier2, 0);
  using kv = std::pair<std::string, std::string>;
  EXPECT_EQ(
      decoded(s.payloads()[0]),
      (std::vector<kv>{{"task", "resize"}, {"size", "42"}, {"empty", ""}, {"body", binary_body_}}));
}

TEST_F(spool_client_test, NoBodySendsNoBodyVar) {
  fake_spooler s(false);
  ASSERT_TRUE(spool(s.address(), {{"a", "1"}}, {}, 2s));
  EXPECT_EQ(decoded(s.payloads().at(0)).size(), 1u);
}

TEST_F(spool_client_test, FailureReplyIsARemoteSpoolerRefusedError) {
  fake_spooler s(false, fail_m2);
  auto r = spool(s.address(), {{"a", "1"}}, {}, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::remote);
  EXPECT_EQ(r.error().remote_type, "SpoolerRefused");
  EXPECT_NE(r.error().message.find(s.address()), std::string::npos) << r.error().message;
}

TEST_F(spool_client_test, ForeignReplyIsAProtocolError) {
  test_server server([](const wire::header&, wire::bytes_view, int) {
    return action::reply(packet_bytes(100, 1, {}));
  });
  auto r = spool(server.address(), {{"a", "1"}}, {}, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::protocol);
}

TEST_F(spool_client_test, ServerClosingAfterEveryAnswerLikeUwsgiIsNotAFailure) {
  fake_spooler s(/*one_shot=*/true);
  for (int i = 0; i < 20; ++i) {
    auto r = spool(s.address(), {{"n", std::to_string(i)}}, {}, 2s);
    ASSERT_TRUE(r) << "task " << i << ": " << r.error().message;
  }
  EXPECT_EQ(s.heads().size(), 20u) << "each task sent exactly once";
  EXPECT_EQ(s.accepted(), 20);
}

TEST_F(spool_client_test, EachTaskTakesANewConnectionAsUwsgisClients) {
  fake_spooler s(/*one_shot=*/false);  // a server that would keep the connection open
  for (int i = 0; i < 5; ++i) {
    auto r = spool(s.address(), {{"n", std::to_string(i)}}, {}, 2s);
    ASSERT_TRUE(r) << "task " << i << ": " << r.error().message;
  }
  EXPECT_EQ(s.accepted(), 5) << "a connection per enqueue, never a pooled one";
}

TEST_F(spool_client_test, PooledConnectionClosedUnseenBeforeTheNextTaskIsRetried) {
  // The server closes a connection only when a second request arrives on it: the client cannot
  // see the close before writing, gets EOF instead of an answer, and retries on a fresh one.
  test_server server([](const wire::header&, wire::bytes_view, int nth) {
    if (nth > 0) return action::close();
    return action::reply(packet_bytes(response, ok_m2, {}));
  });
  for (int i = 0; i < 5; ++i) {
    auto r = spool(server.address(), {{"n", std::to_string(i)}}, {}, 2s);
    ASSERT_TRUE(r) << "task " << i << ": " << r.error().message;
  }
  EXPECT_EQ(server.accepted(), 5);
}

TEST_F(spool_client_test, TooBigATaskIsABadRequestAndSendsNothing) {
  fake_spooler s(false);
  auto big = spool(s.address(), {{"k", std::string(65531, 'x')}}, {}, 2s);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, client::call_errc::bad_request);
  auto with_body =
      spool(s.address(), {{"k", std::string(40000, 'x')}}, std::string(30000, 'b'), 2s);
  ASSERT_FALSE(with_body);
  EXPECT_EQ(with_body.error().code, client::call_errc::bad_request);
  auto empty_key = spool(s.address(), {{"", "v"}}, {}, 2s);
  ASSERT_FALSE(empty_key);
  EXPECT_EQ(empty_key.error().code, client::call_errc::bad_request);
  EXPECT_EQ(s.accepted(), 0);
  // The largest block that fits still goes: 2 + 1 + 2 + 65530 = 65535 bytes.
  auto largest = spool(s.address(), {{"k", std::string(65530, 'x')}}, {}, 2s);
  ASSERT_TRUE(largest) << largest.error().message;
  EXPECT_EQ(s.payloads().at(0).size(), 65535u);
}

TEST_F(spool_client_test, RefusedAndTimeoutAreReported) {
  auto refused = spool(testing::dead_address(), {{"a", "1"}}, {}, 2s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, client::call_errc::refused);
  test_server stalled([](const wire::header&, wire::bytes_view, int) { return action::stall(); });
  auto slow = spool(stalled.address(), {{"a", "1"}}, {}, 100ms);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, client::call_errc::timeout);
}

}  // namespace
}  // namespace brood::client

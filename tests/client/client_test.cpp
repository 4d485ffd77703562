// The sync client (send_message, send_packet, ping) against in-process test servers.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "brood/client/client.hpp"
#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/msgpack_codec.hpp"
#include "client_test_server.hpp"

namespace brood::client {
namespace {

using namespace testing::client_tests;

constexpr std::uint8_t response = wire::to_byte(wire::modifier1::response);

wire::value sample() {
  return wire::value(wire::map{{wire::value("n"), wire::value(42)},
                               {wire::value("list"), wire::value(wire::array{1, "two", 3.5})}});
}

class client_test : public ::testing::Test {
 protected:
  testing::temp_dir dir_{"brood_client_"};
};

TEST_F(client_test, EchoRoundTripTcp) {
  test_server server(echo);
  auto r = client::send_message(server.address(), marshal, 7, sample(), 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, sample());
}

TEST_F(client_test, EchoRoundTripUnix) {
  test_server server(echo, dir_ / "node.sock");
  auto r = client::send_message(server.address(), marshal, 0, sample(), 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, sample());
  auto prefixed =
      client::send_message("unix:" + server.address(), marshal, 0, wire::value(1), 2000ms);
  ASSERT_TRUE(prefixed) << prefixed.error().message;
}

TEST_F(client_test, ReplyLargerThanFirstReadAndDefaultBufferSize) {
  test_server server(echo);
  wire::value big(std::string(60000, 'x'));
  auto r = client::send_message(server.address(), marshal, 0, big, 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, big);
}

TEST_F(client_test, KeepAliveReusesOneConnection) {
  test_server server(echo);
  for (int i = 0; i < 10; ++i) {
    auto r = client::send_message(server.address(), marshal, 0, wire::value(i), 2000ms);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, wire::value(i));
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(client_test, OneShotServerClosingAfterEachReplyWorks) {
  test_server server(echo, {}, /*one_shot=*/true);
  for (int i = 0; i < 10; ++i) {
    auto r = client::send_message(server.address(), marshal, 0, wire::value(i), 2000ms);
    ASSERT_TRUE(r) << "call " << i << ": " << r.error().message;
  }
  EXPECT_EQ(server.accepted(), 10);
}

TEST_F(client_test, PooledConnectionClosedWhileIdleIsReplaced) {
  test_server server(echo);
  ASSERT_TRUE(client::send_message(server.address(), marshal, 0, wire::value(1), 2000ms));
  server.drop_connections();
  auto r = client::send_message(server.address(), marshal, 0, wire::value(2), 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(client_test, ReusedConnectionClosedBeforeReplyIsRetriedOnce) {
  // The second request on any connection is dropped unanswered: the reused connection fails,
  // the client retries on a fresh one, where it is the first request.
  test_server server([](const wire::header& h, wire::bytes_view p, int nth) {
    return nth == 0 ? echo(h, p, nth) : action::close();
  });
  ASSERT_TRUE(client::send_message(server.address(), marshal, 0, wire::value(1), 2000ms));
  auto r = client::send_message(server.address(), marshal, 0, wire::value(2), 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, wire::value(2));
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(client_test, FreshConnectionClosedBeforeReplyIsIoError) {
  test_server server([](const wire::header&, wire::bytes_view, int) { return action::close(); });
  auto r = client::send_message(server.address(), marshal, 0, wire::value(1), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::io);
  EXPECT_EQ(r.error().message, server.address() + " closed the connection before replying");
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(client_test, FailureReplyIsRemoteError) {
  test_server server([](const wire::header&, wire::bytes_view, int) {
    wire::bytes out;
    wire::append_error_reply(out, "ValueError", "bad input");
    return action::reply(out);
  });
  auto r = client::send_message(server.address(), marshal, 0, wire::value(1), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::remote);
  EXPECT_EQ(r.error().remote_type, "ValueError");
  EXPECT_EQ(r.error().message, "remote error from " + server.address() + ": ValueError: bad input");
  EXPECT_THROW((void)r.value(), client::call_exception);
}

TEST_F(client_test, ResponseWithNonzeroModifier2IsTrue) {
  test_server server([](const wire::header&, wire::bytes_view, int) {
    return action::reply(packet_bytes(response, 1, {}));
  });
  auto r = client::send_message(server.address(), marshal, 0, wire::value(1), 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, wire::value(true));
}

TEST_F(client_test, MalformedBodyIsProtocolError) {
  test_server server([](const wire::header& h, wire::bytes_view, int) {
    const wire::bytes junk{0xc1, 0xc1};  // 0xc1 is never valid msgpack
    return action::reply(packet_bytes(h.modifier1, h.modifier2, junk));
  });
  auto r = client::send_message(server.address(), marshal, 0, wire::value(1), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::protocol);
  EXPECT_NE(r.error().message.find(server.address()), std::string::npos);
}

TEST_F(client_test, ForeignModifier1IsProtocolError) {
  test_server server([](const wire::header&, wire::bytes_view p, int) {
    return action::reply(packet_bytes(34, 0, p));
  });
  auto r = client::send_message(server.address(), marshal, 0, wire::value(1), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::protocol);
}

TEST_F(client_test, ClosedPortIsRefusedAtOnce) {
  std::string addr = testing::dead_address();
  auto t0 = clock_type::now();
  auto r = client::send_message(addr, marshal, 0, wire::value(1), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::refused);
  EXPECT_EQ(r.error().message, "connection refused by " + addr);
  EXPECT_LT(ms_since(t0), 500);
}

TEST_F(client_test, MissingUnixSocketIsRefused) {
  auto r = client::send_message(dir_ / "absent.sock", marshal, 0, wire::value(1), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::refused);
}

TEST_F(client_test, BadAddressIsBadRequest) {
  auto r = client::send_message("127.0.0.1:99999", marshal, 0, wire::value(1), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::bad_request);
  EXPECT_NE(r.error().message.find("out of range"), std::string::npos);
}

TEST_F(client_test, StalledServerTimesOutAfterTheTimeout) {
  test_server server([](const wire::header&, wire::bytes_view, int) { return action::stall(); });
  auto t0 = clock_type::now();
  auto r = client::send_message(server.address(), marshal, 0, wire::value(1), 300ms);
  long long took = ms_since(t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::timeout);
  EXPECT_EQ(r.error().message, "timeout after 300 ms waiting for " + server.address());
  EXPECT_GE(took, 295);
  EXPECT_LT(took, 450);
}

TEST_F(client_test, PayloadTooBigIsBadRequestAndSendsNothing) {
  test_server server(echo);
  auto r = client::send_message(server.address(), marshal, 0, wire::value(std::string(70000, 'x')),
                                2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::bad_request);
  wire::bytes raw(70000, 1);
  auto p = client::send_packet(server.address(), marshal, 0, raw, 2000ms);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, client::call_errc::bad_request);
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(client_test, SendPacketReturnsTheRawReply) {
  test_server server(echo);
  const wire::bytes payload{1, 2, 3, 4, 5};
  auto r = client::send_packet(server.address(), 17, 9, payload, 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->head, (wire::header{17, 5, 9}));
  EXPECT_EQ(r->payload, payload);
}

TEST_F(client_test, PingReturnsTheWarningText) {
  std::string warning = "high load";
  test_server server([&](const wire::header& h, wire::bytes_view, int) {
    EXPECT_EQ(h.modifier1, wire::to_byte(wire::modifier1::ping));
    EXPECT_EQ(h.modifier2, wire::to_byte(wire::ping_modifier2::request));
    return action::reply(packet_bytes(wire::to_byte(wire::modifier1::ping),
                                      wire::to_byte(wire::ping_modifier2::reply),
                                      wire::as_bytes(warning)));
  });
  auto r = ping(server.address(), 2000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "high load");
  warning.clear();
  auto quiet = ping(server.address(), 2000ms);
  ASSERT_TRUE(quiet) << quiet.error().message;
  EXPECT_EQ(*quiet, "");
}

TEST_F(client_test, PingWithWrongReplyIsProtocolError) {
  test_server server(echo);  // echoes [100, 0, 0]: modifier2 is not "reply"
  auto r = ping(server.address(), 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::protocol);
}

TEST_F(client_test, ErrorCategoryNamesItself) {
  std::error_code ec = client::call_errc::timeout;
  EXPECT_STREQ(ec.category().name(), "brood.call");
  EXPECT_FALSE(ec.message().empty());
}

}  // namespace
}  // namespace brood::client

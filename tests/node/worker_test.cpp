// The worker answering real sockets: ping, messages, keep-alive, pipelining, bad input, unix.
#include <string>

#include "serve_fixture.hpp"

namespace brood::test {
namespace {

using wire::value;

// m2 0: echo; 1: handler_error; any other: [message, m2].
class worker_test : public serve_fixture {
 protected:
  worker_test() {
    router_.on_message([](const value& message, std::uint8_t m2) -> value {
      if (m2 == 0) return message;
      if (m2 == 1) throw node::handler_error("ValueError", "m2 1 is refused");
      return value(wire::array{message, value(unsigned{m2})});
    });
  }

  // One echo round trip on `c`.
  static void expect_echo(raw_socket& c, const value& v) {
    ASSERT_TRUE(c.send(message_packet(0, v)));
    auto reply = c.read_packet();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->head.modifier1, 33);
    EXPECT_EQ(reply->head.modifier2, 0);
    EXPECT_EQ(reply_value(*reply), v);
  }
};

TEST_F(worker_test, PingIsAnsweredWithTheExactUwsgiBytes) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{100, 0, 0, 0}));
  EXPECT_EQ(c.read_exact(4), (wire::bytes{100, 0, 0, 1}));
}

TEST_F(worker_test, MessageRoundTripsThroughTheHandler) {
  raw_socket c(start_tcp());
  expect_echo(c, value(wire::map{{value("key"), value(wire::array{1, -2, 3.5, "x"})}}));
}

TEST_F(worker_test, Modifier2ReachesTheHandlerAndComesBack) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(message_packet(7, value("m"))));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.modifier1, 33);
  EXPECT_EQ(reply->head.modifier2, 7);
  EXPECT_EQ(reply_value(*reply), value(wire::array{value("m"), value(7)}));
}

TEST_F(worker_test, HandlerErrorGivesAFailureReplyAndKeepsTheConnection) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(message_packet(1, value(1))));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.modifier1, 255);
  EXPECT_EQ(reply->head.modifier2, 0);
  auto info = wire::decode_error_reply(reply->payload, wire::limits{});
  EXPECT_EQ(info.type, "ValueError");
  EXPECT_EQ(info.message, "m2 1 is refused");
  expect_echo(c, value("still served"));
}

TEST_F(worker_test, KeepAliveServesThreeRequestsOnOneConnection) {
  raw_socket c(start_tcp());
  for (int i = 0; i < 3; ++i) expect_echo(c, value(i));
}

TEST_F(worker_test, OneShotClientsThatCloseAfterTheReplyAreServed) {
  auto where = start_tcp();
  int done = 0;
  worker_->on_request_done([&done] { ++done; });
  for (int i = 0; i < 5; ++i) {
    raw_socket c(where);
    expect_echo(c, value(i));
  }
  raw_socket last(where);
  expect_echo(last, value("last"));
  EXPECT_TRUE(eventually([&] { return done == 6; })) << done;
}

TEST_F(worker_test, LargerBufferSizeAcceptsLargerPackets) {
  cfg_.limits.buffer_size = 32768;
  raw_socket c(start_tcp());
  for (int i = 0; i < 2; ++i) expect_echo(c, value(std::string(20000 + i, 'b')));
  expect_echo(c, value("small again"));
}

TEST_F(worker_test, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
  raw_socket c(start_tcp());
  wire::bytes both = message_packet(0, value("first"));
  auto message = message_packet(0, value("second"));
  both.insert(both.end(), message.begin(), message.end());
  ASSERT_TRUE(c.send(both));
  for (const char* expected : {"first", "second"}) {
    auto reply = c.read_packet();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply_value(*reply), value(expected));
  }
}

TEST_F(worker_test, OversizePacketGetsAFailureReplyThenTheConnectionCloses) {
  auto where = start_tcp();
  raw_socket c(where);
  ASSERT_TRUE(c.send(wire::bytes{33, 0x88, 0x13, 0, 1, 2, 3}));  // 5000 > 4096
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.modifier1, 255);
  EXPECT_EQ(reply->head.modifier2, 0);
  auto info = wire::decode_error_reply(reply->payload, wire::limits{});
  EXPECT_NE(info.message.find("5000"), std::string::npos) << info.message;
  EXPECT_NE(info.message.find("4096"), std::string::npos) << info.message;
  EXPECT_TRUE(c.closed_by_peer());
  raw_socket next(where);
  expect_echo(next, value("next"));
}

TEST_F(worker_test, GarbageMsgpackGetsAProtocolErrorReply) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{33, 5, 0, 0, 0xc1, 0xc1, 0xff, 0x00, 0x93}));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.modifier1, 255);
  EXPECT_EQ(wire::decode_error_reply(reply->payload, wire::limits{}).type, "brood.ProtocolError");
  expect_echo(c, value("after garbage"));
}

TEST_F(worker_test, UnknownModifierClosesWithoutReplyAndTheNextClientIsServed) {
  auto where = start_tcp();
  raw_socket c(where);
  ASSERT_TRUE(c.send(wire::bytes{42, 0, 0, 0}));
  EXPECT_TRUE(c.closed_by_peer());
  raw_socket next(where);
  expect_echo(next, value("next"));
}

TEST_F(worker_test, EofMidRequestJustClosesTheConnection) {
  auto where = start_tcp();
  {
    raw_socket c(where);
    ASSERT_TRUE(c.send(wire::bytes{33, 10, 0, 0, 1}));
  }
  raw_socket next(where);
  expect_echo(next, value("next"));
  EXPECT_TRUE(eventually([&] { return worker_->connection_count() == 1; }));
}

TEST_F(worker_test, UnixSocketServesPingAndMessages) {
  const auto where = start_unix();
  raw_socket p(where);
  ASSERT_TRUE(p.connected());
  ASSERT_TRUE(p.send(wire::bytes{100, 0, 0, 0}));
  EXPECT_EQ(p.read_exact(4), (wire::bytes{100, 0, 0, 1}));
  EXPECT_TRUE(p.closed_by_peer()) << "a ping's answer ends the connection, as uWSGI's";
  raw_socket c(where);
  expect_echo(c, value("over unix"));
  expect_echo(c, value("kept alive"));
}

}  // namespace
}  // namespace brood::test

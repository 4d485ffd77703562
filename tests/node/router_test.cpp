// The router alone: built-in ping and messages, handler failures, unknown modifiers.
#include "brood/node/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "brood/wire/message.hpp"
#include "brood/wire/msgpack_codec.hpp"

namespace brood::node {
namespace router_test_types {
struct custom_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace router_test_types

namespace {

using wire::value;

class router_test : public ::testing::Test {
 protected:
  std::optional<reply> send(std::uint8_t m1, std::uint8_t m2, const wire::bytes& payload) {
    payload_ = payload;
    request r{{m1, static_cast<std::uint16_t>(payload_.size()), m2}, payload_, {}, "test"};
    return router_.dispatch(r);
  }
  std::optional<reply> send_message(std::uint8_t m2, const value& v) {
    return send(33, m2, wire::encode_msgpack(v));
  }
  // The failure carried by `r`; fails the test if it is not a failure reply.
  static wire::error_info failure(const std::optional<reply>& r) {
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_GE(r->data.size(), wire::header_size);
    auto head = wire::decode_header(r->data);
    EXPECT_EQ(head.modifier1, 255);
    EXPECT_EQ(head.modifier2, 0);
    EXPECT_TRUE(r->keep_alive);
    return wire::decode_error_reply(wire::bytes_view(r->data).subspan(wire::header_size),
                                    wire::limits{});
  }

  router router_;
  wire::bytes payload_;
};

TEST_F(router_test, PingIsBuiltIn) {
  EXPECT_TRUE(router_.handles(100));
  auto r = send(100, 0, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, (wire::bytes{100, 0, 0, 1}));
  EXPECT_FALSE(r->keep_alive) << "closed after the answer, as uWSGI (docs/protocol.md §6)";
}

TEST_F(router_test, UnknownModifierGivesNoReply) {
  EXPECT_FALSE(router_.handles(42));
  EXPECT_FALSE(send(42, 0, {}));
}

TEST_F(router_test, MessageWithoutHandlerFailsWithNoHandler) {
  EXPECT_TRUE(router_.handles(33));
  EXPECT_EQ(failure(send_message(0, value(1))).type, "brood.NoHandler");
}

TEST_F(router_test, MessageIsAnsweredWithTheSameModifiers) {
  router_.on_message([](const value& v, std::uint8_t m2) {
    return value(wire::array{v, value(unsigned{m2})});
  });
  auto r = send_message(9, value("x"));
  ASSERT_TRUE(r);
  wire::bytes expected;
  ASSERT_FALSE(wire::append_value_packet(expected, 33, 9, value(wire::array{"x", 9})));
  EXPECT_EQ(r->data, expected);
}

TEST_F(router_test, InvalidMsgpackFailsWithProtocolError) {
  router_.on_message([](const value& v, std::uint8_t) { return v; });
  auto info = failure(send(33, 0, {0xc1}));
  EXPECT_EQ(info.type, "brood.ProtocolError");
  EXPECT_FALSE(info.message.empty());
}

TEST_F(router_test, HandlerErrorKeepsItsType) {
  router_.on_message([](const value&, std::uint8_t) -> value {
    throw handler_error("ZeroDivisionError", "division by zero");
  });
  auto info = failure(send_message(0, value(1)));
  EXPECT_EQ(info.type, "ZeroDivisionError");
  EXPECT_EQ(info.message, "division by zero");
}

TEST_F(router_test, StdExceptionIsNamedByItsDynamicType) {
  router_.on_message([](const value&, std::uint8_t m2) -> value {
    if (m2 == 0) throw std::out_of_range("index 7");
    throw router_test_types::custom_failure("custom");
  });
  auto info = failure(send_message(0, value(1)));
  EXPECT_EQ(info.type, "std::out_of_range");
  EXPECT_EQ(info.message, "index 7");
  info = failure(send_message(1, value(1)));
  EXPECT_EQ(info.type, "brood::node::router_test_types::custom_failure");
  EXPECT_EQ(info.message, "custom");
}

TEST_F(router_test, NonStandardExceptionIsUnknown) {
  router_.on_message([](const value&, std::uint8_t) -> value { throw 42; });
  EXPECT_EQ(failure(send_message(0, value(1))).type, "unknown");
}

TEST_F(router_test, ReplyTooLargeForAPacketFails) {
  router_.on_message([](const value&, std::uint8_t) { return value(std::string(70000, 'z')); });
  auto info = failure(send_message(0, value(1)));
  EXPECT_EQ(info.type, "brood.ReplyTooLarge");
  EXPECT_NE(info.message.find("65535"), std::string::npos) << info.message;
}

TEST_F(router_test, PacketHandlerReplacesARouteAndItsFailuresAreCaught) {
  router_.on_packet(100, [](const request&) -> std::optional<reply> {
    throw std::runtime_error("no ping today");
  });
  auto info = failure(send(100, 0, {}));
  EXPECT_EQ(info.type, "std::runtime_error");
  EXPECT_EQ(info.message, "no ping today");
}

TEST_F(router_test, PacketHandlerSeesTheRequestAndItsBodyPolicy) {
  router_.on_packet(
      0,
      [](const request& r) {
        reply out;
        out.data.assign(r.payload.begin(), r.payload.end());
        out.keep_alive = false;
        return std::optional<reply>(out);
      },
      body_policy::content_length);
  EXPECT_TRUE(router_.handles(0));
  EXPECT_EQ(router_.body_for(0), body_policy::content_length);
  EXPECT_EQ(router_.body_for(100), body_policy::none);
  auto r = send(0, 0, {1, 2, 3});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, (wire::bytes{1, 2, 3}));
  EXPECT_FALSE(r->keep_alive);
}

}  // namespace
}  // namespace brood::node

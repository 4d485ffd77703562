// Marshalled messages and failure replies as brood frames them (docs/protocol.md).
#include "brood/wire/message.hpp"

#include <gtest/gtest.h>

#include <string>

#include "brood/wire/msgpack_codec.hpp"

namespace brood::wire {
namespace {

class message_test : public ::testing::Test {
 protected:
  // Frames the single packet in `b`; returns its payload.
  bytes_view frame(const bytes& b) {
    limits max;
    max.buffer_size = limits::max_buffer_size;
    const decode_result r = parse_packet(b, max, h);
    EXPECT_TRUE(r.is_done()) << r.why;
    EXPECT_EQ(r.consumed, b.size());
    return bytes_view(b).subspan(header_size, h.size);
  }

  limits lim;
  header h;
  value v;
};

TEST_F(message_test, ValuePacketRoundTrip) {
  const value in = array{"fib", 30, map{{"deep", true}}};
  bytes b;
  ASSERT_FALSE(append_value_packet(b, to_byte(modifier1::message_marshal), 0, in));
  const bytes_view payload = frame(b);
  EXPECT_EQ(h.modifier1, 33);
  EXPECT_EQ(h.modifier2, 0);
  ASSERT_TRUE(decode_msgpack(payload, lim, v).is_done());
  EXPECT_EQ(v, in);
}

TEST_F(message_test, ValuePacketOfExactly65535BytesFits) {
  // str32 header is 5 bytes; a 65530-byte str16 payload would be 3 + 65530 = 65533.
  const std::string s(65532, 'x');  // str16: 3 + 65532 = 65535
  bytes b;
  ASSERT_FALSE(append_value_packet(b, 33, 0, s));
  EXPECT_EQ(frame(b).size(), 65535u);
}

TEST_F(message_test, ValuePacketTooLongLeavesOutUnchanged) {
  bytes b{1, 2, 3};
  EXPECT_EQ(append_value_packet(b, 33, 0, std::string(65533, 'x')), errc::payload_too_long);
  EXPECT_EQ(b, (bytes{1, 2, 3}));
}

TEST_F(message_test, ErrorReplyRoundTrip) {
  bytes b;
  append_error_reply(b, "ValueError", "bad input at 3");
  const bytes_view payload = frame(b);
  EXPECT_EQ(h.modifier1, to_byte(modifier1::response));
  EXPECT_EQ(h.modifier2, to_byte(response_modifier2::failure));
  ASSERT_TRUE(decode_msgpack(payload, lim, v).is_done());
  EXPECT_EQ(v, value(map{{"error", "ValueError"}, {"message", "bad input at 3"}}));
  const error_info e = decode_error_reply(payload, lim);
  EXPECT_EQ(e.type, "ValueError");
  EXPECT_EQ(e.message, "bad input at 3");
}

TEST_F(message_test, HugeErrorMessageIsCutToFit) {
  bytes b;
  append_error_reply(b, std::string(5000, 't'), std::string(200000, 'm'));
  const bytes_view payload = frame(b);
  EXPECT_LE(payload.size(), limits::max_buffer_size);
  EXPECT_GT(payload.size(), 65000u);
  lim.buffer_size = limits::max_buffer_size;
  const error_info e = decode_error_reply(payload, lim);
  EXPECT_EQ(e.type, std::string(1024, 't'));
  EXPECT_GT(e.message.size(), 60000u);
  EXPECT_EQ(e.message.find_first_not_of('m'), std::string::npos);
}

TEST_F(message_test, CutNeverSplitsUtf8) {
  std::string msg;
  while (msg.size() < 70000) msg += "\xc3\xa9";  // é
  bytes b;
  append_error_reply(b, "E", msg);
  const error_info e = decode_error_reply(frame(b), lim);
  EXPECT_EQ(e.message.size() % 2, 0u);
  EXPECT_EQ(e.message.substr(0, 4), "\xc3\xa9\xc3\xa9");
}

TEST_F(message_test, EmptyBodyIsPlainFailure) {
  const error_info e = decode_error_reply({}, lim);
  EXPECT_EQ(e.type, "failure");
  EXPECT_EQ(e.message, "the node answered failure");
}

TEST_F(message_test, ForeignBodiesArePlainFailure) {
  for (const value& body : {value("text"), value(map{{"other", "x"}}), value(map{{"error", 5}}),
                            value(array{"error", "x"})}) {
    const bytes b = encode_msgpack(body);
    EXPECT_EQ(decode_error_reply(b, lim).type, "failure") << to_string(body);
  }
  const bytes garbage{0xc1, 0x00};
  EXPECT_EQ(decode_error_reply(garbage, lim).message, "the node answered failure");
}

TEST_F(message_test, ErrorWithoutMessageGivesEmptyMessage) {
  const bytes b = encode_msgpack(map{{"error", "Timeout"}});
  const error_info e = decode_error_reply(b, lim);
  EXPECT_EQ(e.type, "Timeout");
  EXPECT_EQ(e.message, "");
}

}  // namespace
}  // namespace brood::wire

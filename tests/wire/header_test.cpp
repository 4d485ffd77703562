// The 4-byte uwsgi header and incremental packet framing (docs/protocol.md §1, §4).
#include "brood/wire/header.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace brood::wire {
namespace {

class header_test : public ::testing::Test {
 protected:
  // A packet [m1, size, m2] + `payload` built by append_packet.
  static bytes packet(std::uint8_t m1, std::uint8_t m2, const bytes& payload) {
    bytes out;
    EXPECT_FALSE(append_packet(out, m1, m2, payload));
    return out;
  }
  static bytes packet_of_size(std::size_t n) { return packet(0, 0, bytes(n, 'x')); }

  limits lim;
  header h;
};

TEST_F(header_test, EncodesSizeLittleEndian) {
  const auto b = encode_header({to_byte(modifier1::message_marshal), 0x1234, 7});
  EXPECT_EQ(b, (std::array<byte, 4>{33, 0x34, 0x12, 7}));
}

TEST_F(header_test, DecodeInvertsEncode) {
  for (std::uint16_t size : {0, 1, 255, 256, 4096, 65535}) {
    const header in{to_byte(modifier1::ping), size, to_byte(ping_modifier2::reply)};
    const auto b = encode_header(in);
    EXPECT_EQ(decode_header(b), in);
  }
}

TEST_F(header_test, ParsesCompletePacket) {
  const bytes p = packet(to_byte(modifier1::rpc), 3, {1, 2, 3});
  const decode_result r = parse_packet(p, lim, h);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, 7u);
  EXPECT_EQ(h, (header{173, 3, 3}));
}

TEST_F(header_test, EmptyPayloadIsDoneAtFourBytes) {
  const bytes p = packet(to_byte(modifier1::response), 1, {});
  const decode_result r = parse_packet(p, lim, h);
  ASSERT_TRUE(r.is_done());
  EXPECT_EQ(r.consumed, header_size);
}

TEST_F(header_test, NeedsMoreUntilLastByteFedOneAtATime) {
  const bytes p = packet(0, 0, bytes(300, 'a'));
  for (std::size_t n = 0; n < p.size(); ++n) {
    const decode_result r = parse_packet(bytes_view(p).first(n), lim, h);
    ASSERT_EQ(r.status, decode_status::need_more) << "after " << n << " bytes";
  }
  const decode_result r = parse_packet(p, lim, h);
  ASSERT_TRUE(r.is_done());
  EXPECT_EQ(r.consumed, p.size());
  EXPECT_EQ(h.size, 300);
}

TEST_F(header_test, LeavesBodyAndNextPacketToCaller) {
  bytes p = packet(0, 0, {'a', 'b'});
  const bytes second = packet(to_byte(modifier1::ping), 0, {});
  p.insert(p.end(), {'B', 'O', 'D', 'Y'});
  p.insert(p.end(), second.begin(), second.end());
  const decode_result r = parse_packet(p, lim, h);
  ASSERT_TRUE(r.is_done());
  EXPECT_EQ(r.consumed, 6u);
  EXPECT_EQ(h.size, 2);
}

TEST_F(header_test, BufferSizeBoundaryAccepts4096) {
  const bytes p = packet_of_size(4096);
  const decode_result r = parse_packet(p, lim, h);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, 4100u);
}

TEST_F(header_test, BufferSizeBoundaryRefuses4097FromHeaderAlone) {
  const bytes p = packet_of_size(4097);
  const decode_result r = parse_packet(bytes_view(p).first(header_size), lim, h);
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.error, errc::size_exceeds_buffer);
  EXPECT_EQ(r.why, "packet size 4097 exceeds buffer-size 4096");
  EXPECT_EQ(parse_packet(p, lim, h).error, errc::size_exceeds_buffer);
}

TEST_F(header_test, HeaderNotYetCompleteIsNeedMoreEvenIfHuge) {
  const bytes p = packet_of_size(5000);
  EXPECT_EQ(parse_packet(bytes_view(p).first(3), lim, h).status, decode_status::need_more);
  const decode_result r = parse_packet(bytes_view(p).first(4), lim, h);
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.why, "packet size 5000 exceeds buffer-size 4096");
}

TEST_F(header_test, MaximumBufferSizeAccepts65535) {
  lim.buffer_size = limits::max_buffer_size;
  const bytes p = packet_of_size(65535);
  const decode_result r = parse_packet(p, lim, h);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, 65539u);
  EXPECT_EQ(h.size, 65535);
}

TEST_F(header_test, CustomSmallBufferSize) {
  lim.buffer_size = 10;
  EXPECT_TRUE(parse_packet(packet_of_size(10), lim, h).is_done());
  const decode_result r = parse_packet(packet_of_size(11), lim, h);
  EXPECT_EQ(r.why, "packet size 11 exceeds buffer-size 10");
}

TEST_F(header_test, AppendPacketRefusesPayloadOver65535) {
  bytes out{9};
  EXPECT_EQ(append_packet(out, 0, 0, bytes(65536, 'x')), errc::payload_too_long);
  EXPECT_EQ(out, bytes{9});
  EXPECT_FALSE(append_packet(out, 0, 0, bytes(65535, 'x')));
  EXPECT_EQ(out.size(), 1u + 4u + 65535u);
}

TEST_F(header_test, ErrorCodesHaveBroodCategory) {
  const std::error_code ec = errc::size_exceeds_buffer;
  EXPECT_STREQ(ec.category().name(), "brood.wire");
  EXPECT_EQ(ec.message(), "packet size exceeds buffer-size");
}

TEST_F(header_test, EveryErrorHasItsOwnMessage) {
  std::set<std::string> seen;
  for (int e = static_cast<int>(errc::ok); e <= static_cast<int>(errc::msgpack_unsupported); ++e) {
    const std::string m = make_error_code(static_cast<errc>(e)).message();
    EXPECT_NE(m, "unknown wire error") << e;
    EXPECT_TRUE(seen.insert(m).second) << m;
  }
}

}  // namespace
}  // namespace brood::wire

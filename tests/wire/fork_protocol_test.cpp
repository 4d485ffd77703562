// The fork-server request and reply byte for byte (docs/protocol.md §13).
#include "brood/wire/fork_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace brood::wire {
namespace {

bytes to_bytes(std::string_view s) { return bytes(s.begin(), s.end()); }

// [u16 LE len][bytes] for each item.
std::string array_of(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view i : items) {
    out += static_cast<char>(i.size() & 0xff);
    out += static_cast<char>(i.size() >> 8);
    out += i;
  }
  return out;
}

decode_result decode(const bytes& packet, int fds, fork_request& out) {
  const header h = decode_header(packet);
  return decode_fork_request(h, bytes_view(packet).subspan(header_size), fds, limits{}, out);
}

TEST(ForkProtocol, PlainRequestIsUwsgisBytes) {
  fork_request r;
  r.argv = {"/usr/bin/uwsgi", "--ini", "one.ini"};
  bytes out;
  ASSERT_FALSE(encode_fork_request(r, out));
  const std::string body = array_of({"/usr/bin/uwsgi", "--ini", "one.ini"});
  std::string expected = {35, static_cast<char>(body.size()), 0, 1};
  expected += body;
  EXPECT_EQ(out, to_bytes(expected));
  EXPECT_EQ(r.fd_count(), 1);
  fork_request back;
  ASSERT_TRUE(decode(out, 1, back).is_done());
  EXPECT_EQ(back, r);
}

TEST(ForkProtocol, BitmaskFollowsTheFds) {
  fork_request r;
  r.argv = {"brood", "--ini", "a.ini"};
  r.on_demand_fd = true;
  EXPECT_EQ(r.bitmask(), 0x05);
  EXPECT_EQ(r.fd_count(), 2);
  r.config_fd = true;
  EXPECT_EQ(r.bitmask(), 0x07);
  EXPECT_EQ(r.fd_count(), 3);
  bytes out;
  ASSERT_FALSE(encode_fork_request(r, out));
  EXPECT_EQ(out[3], 0x07);
  fork_request back;
  ASSERT_TRUE(decode(out, 3, back).is_done());
  EXPECT_EQ(back, r);
}

TEST(ForkProtocol, WrongFdCountIsRefused) {
  fork_request r;
  r.argv = {"brood"};
  r.on_demand_fd = true;
  bytes out;
  ASSERT_FALSE(encode_fork_request(r, out));
  fork_request back;
  for (int fds : {0, 1, 3, 8}) {
    const decode_result d = decode(out, fds, back);
    ASSERT_TRUE(d.is_bad()) << fds;
    EXPECT_EQ(d.error, make_error_code(errc::fork_bad_request));
    EXPECT_NE(d.why.find("fds received"), std::string::npos) << d.why;
  }
}

TEST(ForkProtocol, BroodExtensionsRoundTrip) {
  fork_request r;
  r.argv = {"brood", "--ini", "a.ini"};
  r.sockets = 2;
  r.env = {"UWSGI_VASSAL=1", "NOTIFY_SOCKET"};
  bytes out;
  ASSERT_FALSE(encode_fork_request(r, out));
  EXPECT_EQ(out[3], 0x19);
  const std::string body =
      array_of({"3", "brood", "--ini", "a.ini", "UWSGI_VASSAL=1", "NOTIFY_SOCKET"});
  EXPECT_EQ(bytes(out.begin() + 4, out.end()), to_bytes(body));
  fork_request back;
  ASSERT_TRUE(decode(out, 3, back).is_done());
  EXPECT_EQ(back, r);
  EXPECT_TRUE(decode(out, 1, back).is_bad());   // no socket
  EXPECT_TRUE(decode(out, 17, back).is_bad());  // over max_fork_fds
}

TEST(ForkProtocol, MalformedRequestsSayWhy) {
  fork_request back;
  auto packet = [](std::uint8_t m1, std::uint8_t m2, const std::string& body) {
    bytes out;
    append_packet(out, m1, m2, to_bytes(body));
    return out;
  };
  EXPECT_TRUE(check_fork_header(decode_header(packet(0, 1, ""))).is_bad());
  EXPECT_TRUE(check_fork_header(decode_header(packet(35, 0, ""))).is_bad());     // no 0x01
  EXPECT_TRUE(check_fork_header(decode_header(packet(35, 0x21, ""))).is_bad());  // unknown bit
  EXPECT_TRUE(decode(packet(35, 1, ""), 1, back).is_bad());                      // empty argv
  EXPECT_TRUE(decode(packet(35, 1,
                            std::string("\x05\x00"
                                        "ab",
                                        4)),
                     1, back)
                  .is_bad());
  EXPECT_TRUE(decode(packet(35, 0x11, array_of({"9", "a"})), 1, back).is_bad());
  EXPECT_TRUE(decode(packet(35, 0x11, array_of({"01", "a", "K=V"})), 1, back).is_bad());
  EXPECT_TRUE(decode(packet(35, 0x11, array_of({"1", "a"})), 1, back).is_bad());  // no env
  EXPECT_TRUE(decode(packet(35, 0x11, array_of({"1", "a", "=V"})), 1, back).is_bad());
  const decode_result d = decode(packet(35, 1, array_of({"a"})), 2, back);
  ASSERT_TRUE(d.is_bad());
  EXPECT_FALSE(d.why.empty());
}

TEST(ForkProtocol, EncoderRefusesWhatItCannotSend) {
  bytes out;
  fork_request r;
  EXPECT_EQ(encode_fork_request(r, out), make_error_code(errc::fork_bad_request));  // empty argv
  r.argv = {"a"};
  r.sockets = 16;
  EXPECT_EQ(encode_fork_request(r, out), make_error_code(errc::fork_bad_request));
  r.sockets = 0;
  r.env = {"=x"};
  EXPECT_EQ(encode_fork_request(r, out), make_error_code(errc::fork_bad_request));
  r.env.clear();
  r.argv = {std::string(40000, 'a'), std::string(40000, 'b')};
  EXPECT_EQ(encode_fork_request(r, out), make_error_code(errc::payload_too_long));
  EXPECT_TRUE(out.empty());
}

TEST(ForkProtocol, ReplyIsUwsgisBytes) {
  const bytes reply = encode_fork_reply(4242);
  std::string expected = {35, 11, 0, 0, 3, 0};
  expected += "pid";
  expected += std::string{4, 0};
  expected += "4242";
  EXPECT_EQ(reply, to_bytes(expected));
  long long pid = 0;
  for (std::size_t n = 0; n < reply.size(); ++n)
    EXPECT_EQ(decode_fork_reply(bytes_view(reply).first(n), limits{}, pid).status,
              decode_status::need_more);
  const decode_result d = decode_fork_reply(reply, limits{}, pid);
  ASSERT_TRUE(d.is_done());
  EXPECT_EQ(d.consumed, reply.size());
  EXPECT_EQ(pid, 4242);
}

TEST(ForkProtocol, MalformedRepliesAreBad) {
  long long pid = 0;
  auto reply = [](std::uint8_t m1, const std::string& body) {
    bytes out;
    append_packet(out, m1, 0, to_bytes(body));
    return out;
  };
  const std::string no_pid = std::string{3, 0} + "pod" + std::string{1, 0} + "1";
  const std::string not_number = std::string{3, 0} + "pid" + std::string{2, 0} + "1x";
  const std::string negative = std::string{3, 0} + "pid" + std::string{2, 0} + "-1";
  EXPECT_TRUE(decode_fork_reply(reply(0, negative), limits{}, pid).is_bad());
  EXPECT_TRUE(decode_fork_reply(reply(35, no_pid), limits{}, pid).is_bad());
  EXPECT_TRUE(decode_fork_reply(reply(35, not_number), limits{}, pid).is_bad());
  ASSERT_TRUE(decode_fork_reply(reply(35, negative), limits{}, pid).is_done());
  EXPECT_EQ(pid, -1);
}

}  // namespace
}  // namespace brood::wire

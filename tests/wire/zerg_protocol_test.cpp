// The data part of uWSGI's fd-passing messages, byte for byte (docs/protocol.md §12.2).
#include "brood/wire/zerg_protocol.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <string>

namespace brood::wire {
namespace {

class zerg_protocol_test : public ::testing::Test {
 protected:
  // The first fd_message_size(kind) bytes of the encoding.
  static bytes encoded(fd_message_kind kind, int count) {
    const fd_message_bytes b = encode_fd_message(kind, count);
    return bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(fd_message_size(kind)));
  }
  static bytes native_int(int n) {
    bytes out(sizeof(int));
    std::memcpy(out.data(), &n, sizeof(int));
    return out;
  }

  int count = -7;
};

TEST_F(zerg_protocol_test, ZergFramingIsTenAsciiBytesThenANativeInt) {
  bytes expected = {'u', 'w', 's', 'g', 'i', '-', 'z', 'e', 'r', 'g'};
  const bytes n = native_int(3);
  expected.insert(expected.end(), n.begin(), n.end());
  EXPECT_EQ(encoded(fd_message_kind::zerg, 3), expected);
  EXPECT_EQ(fd_message_size(fd_message_kind::zerg), 14u);
  if constexpr (std::endian::native == std::endian::little) {
    EXPECT_EQ(bytes(expected.begin() + 10, expected.end()), (bytes{3, 0, 0, 0}));
  }
}

TEST_F(zerg_protocol_test, OtherCodesHaveTheirLengths) {
  EXPECT_EQ(fd_message_code(fd_message_kind::emperor_proxy), "uwsgi-emperor");
  EXPECT_EQ(fd_message_size(fd_message_kind::emperor_proxy), 17u);
  EXPECT_EQ(fd_message_code(fd_message_kind::setns), "uwsgi-setns");
  EXPECT_EQ(fd_message_size(fd_message_kind::setns), 15u);
}

TEST_F(zerg_protocol_test, DecodesWhatItEncodes) {
  for (auto kind :
       {fd_message_kind::zerg, fd_message_kind::emperor_proxy, fd_message_kind::setns}) {
    for (int n : {0, 1, 8, max_passed_fds}) {
      const bytes b = encoded(kind, n);
      const decode_result r = decode_fd_message(b, kind, count);
      ASSERT_TRUE(r.is_done()) << r.why;
      EXPECT_EQ(r.consumed, b.size());
      EXPECT_EQ(count, n);
    }
  }
}

TEST_F(zerg_protocol_test, EveryPrefixNeedsMore) {
  const bytes b = encoded(fd_message_kind::zerg, 2);
  for (std::size_t n = 0; n < b.size(); ++n)
    EXPECT_EQ(decode_fd_message(bytes_view(b).first(n), fd_message_kind::zerg, count).status,
              decode_status::need_more)
        << n;
  EXPECT_EQ(count, -7);
}

TEST_F(zerg_protocol_test, TrailingBytesAreLeftToTheCaller) {
  bytes b = encoded(fd_message_kind::zerg, 1);
  b.push_back('x');
  const decode_result r = decode_fd_message(b, fd_message_kind::zerg, count);
  ASSERT_TRUE(r.is_done());
  EXPECT_EQ(r.consumed, 14u);
}

TEST_F(zerg_protocol_test, AWrongCodeIsBadAsSoonAsItDiffers) {
  const decode_result r = decode_fd_message(as_bytes("uwsgi-ze"), fd_message_kind::zerg, count);
  EXPECT_EQ(r.status, decode_status::need_more);
  const decode_result bad = decode_fd_message(as_bytes("uwsgi-x"), fd_message_kind::zerg, count);
  ASSERT_TRUE(bad.is_bad());
  EXPECT_EQ(bad.error, errc::fd_message_bad_code);
  EXPECT_NE(bad.why.find("offset 6"), std::string::npos) << bad.why;
  // The emperor proxy's code is not a zerg's.
  const bytes proxy = encoded(fd_message_kind::emperor_proxy, 1);
  EXPECT_TRUE(decode_fd_message(proxy, fd_message_kind::zerg, count).is_bad());
}

TEST_F(zerg_protocol_test, ACountOutOfRangeIsBad) {
  for (int n : {-1, max_passed_fds + 1}) {
    bytes b = encoded(fd_message_kind::zerg, 0);
    std::memcpy(b.data() + 10, &n, sizeof(n));
    const decode_result r = decode_fd_message(b, fd_message_kind::zerg, count);
    ASSERT_TRUE(r.is_bad()) << n;
    EXPECT_EQ(r.error, errc::fd_message_bad_count);
    EXPECT_NE(r.why.find(std::to_string(n)), std::string::npos) << r.why;
  }
  EXPECT_EQ(count, -7);
}

}  // namespace
}  // namespace brood::wire

// The spool file codec (docs/uwsgi-compat.md §3.3, docs/spool_format.md).
#include "brood/wire/spool_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace brood::wire {
namespace {

class spool_file_test : public ::testing::Test {
 protected:
  decode_result decode(const bytes& b) { return decode_spool_file(b, out); }
  // A file as uWSGI writes it: header, vars, body, no checksum.
  static bytes uwsgi_file(const std::vector<var>& vars, std::string_view body) {
    bytes block;
    EXPECT_FALSE(append_vars(block, vars));
    bytes f;
    EXPECT_FALSE(append_packet(f, to_byte(modifier1::spooler), 0, block));
    f.insert(f.end(), body.begin(), body.end());
    return f;
  }
  // A spool file whose last var is brood_checksum = `sum` (written verbatim).
  static bytes with_checksum(const std::vector<var>& vars, std::string_view sum,
                             std::string_view body) {
    std::vector<var> all = vars;
    all.push_back({spool_checksum_key, sum});
    return uwsgi_file(all, body);
  }
  void expect_bad(const bytes& f, errc e, std::string_view why_part) {
    const decode_result r = decode(f);
    ASSERT_TRUE(r.is_bad());
    EXPECT_EQ(r.error, make_error_code(e)) << r.why;
    EXPECT_NE(r.why.find(why_part), std::string::npos) << r.why;
    EXPECT_TRUE(out.vars.empty());
  }

  spool_file_view out;
  const std::vector<var> task{{"ud_spool_func", "send_mail"}, {"to", "a@b"}, {"empty", ""}};
};

TEST_F(spool_file_test, RoundTripWithoutBody) {
  bytes f;
  ASSERT_FALSE(append_spool_file(f, task, {}));
  const decode_result r = decode(f);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, f.size());
  EXPECT_EQ(out.vars, task);
  EXPECT_TRUE(out.checksummed);
  EXPECT_TRUE(out.body.empty());
  EXPECT_EQ(out.head.modifier1, to_byte(modifier1::spooler));
  EXPECT_EQ(out.head.modifier2, 0);
  EXPECT_EQ(out.head.size + header_size, f.size());
}

TEST_F(spool_file_test, RoundTripWithBody) {
  const std::string body("raw\0body bytes", 14);
  bytes f;
  ASSERT_FALSE(append_spool_file(f, task, as_bytes(body)));
  ASSERT_TRUE(decode(f).is_done());
  EXPECT_EQ(out.vars, task);
  EXPECT_EQ(as_chars(out.body), body);
  EXPECT_TRUE(out.checksummed);
}

TEST_F(spool_file_test, AppendsToExistingBytes) {
  bytes f{1, 2, 3};
  ASSERT_FALSE(append_spool_file(f, task, {}));
  EXPECT_EQ(f[0], 1);
  EXPECT_TRUE(decode_spool_file(bytes_view(f).subspan(3), out).is_done());
}

TEST_F(spool_file_test, ChecksumIsLastVarAndCoversVarsThenBody) {
  // CRC-32 of "123456789" is the standard check value cbf43926.
  bytes f;
  ASSERT_FALSE(append_spool_file(f, {}, as_bytes("123456789")));
  EXPECT_EQ(f, with_checksum({}, "crc32:cbf43926", "123456789"));
  bytes g;
  ASSERT_FALSE(append_spool_file(g, task, {}));
  std::vector<var> raw;
  ASSERT_TRUE(decode_vars(bytes_view(g).subspan(4), {.max_vars = 100}, raw).is_done());
  ASSERT_EQ(raw.size(), task.size() + 1);
  EXPECT_EQ(raw.back().key, spool_checksum_key);
  EXPECT_EQ(raw.back().value.size(), 14u);
  EXPECT_TRUE(raw.back().value.starts_with("crc32:"));
}

TEST_F(spool_file_test, CallerChecksumVarIsReplaced) {
  std::vector<var> in = task;
  in.insert(in.begin(), {spool_checksum_key, "crc32:00000000"});
  bytes f;
  ASSERT_FALSE(append_spool_file(f, in, {}));
  ASSERT_TRUE(decode(f).is_done()) << decode(f).why;
  EXPECT_EQ(out.vars, task);
}

TEST_F(spool_file_test, UwsgiFileWithoutChecksumIsAccepted) {
  const bytes f = uwsgi_file(task, "body");
  const decode_result r = decode(f);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_FALSE(out.checksummed);
  EXPECT_EQ(out.vars, task);
  EXPECT_EQ(as_chars(out.body), "body");
}

TEST_F(spool_file_test, EmptyUwsgiFileIsATaskWithNoVars) {
  ASSERT_TRUE(decode(uwsgi_file({}, "")).is_done());
  EXPECT_TRUE(out.vars.empty());
}

TEST_F(spool_file_test, ShorterThanHeaderIsTruncated) {
  expect_bad({}, errc::spool_truncated, "0 bytes");
  expect_bad({17, 0, 0}, errc::spool_truncated, "shorter than the 4-byte header");
}

TEST_F(spool_file_test, ShorterThanHeaderSizeIsTruncated) {
  bytes f = uwsgi_file(task, "");
  f.pop_back();
  expect_bad(f, errc::spool_truncated, "bytes after the header");
}

TEST_F(spool_file_test, OtherModifier1IsNotATask) {
  bytes f = uwsgi_file(task, "");
  f[0] = 0;
  expect_bad(f, errc::spool_not_a_task, "modifier1 0");
}

TEST_F(spool_file_test, MalformedVarsBlockIsReported) {
  expect_bad({17, 3, 0, 0, 0, 0, 'x'}, errc::zero_key_length, "vars block at offset 4");
  expect_bad({17, 3, 0, 0, 9, 0, 'x'}, errc::key_overrun, "offset 0");
  expect_bad({17, 1, 0, 0, 1}, errc::truncated_length, "key length");
}

TEST_F(spool_file_test, CorruptBodyFailsTheChecksum) {
  bytes f;
  ASSERT_FALSE(append_spool_file(f, task, as_bytes("payload")));
  f.back() ^= 1;
  expect_bad(f, errc::spool_bad_checksum, "7-byte body");
}

TEST_F(spool_file_test, TruncatedBodyFailsTheChecksum) {
  bytes f;
  ASSERT_FALSE(append_spool_file(f, task, as_bytes("payload")));
  f.resize(f.size() - 3);
  expect_bad(f, errc::spool_bad_checksum, "brood_checksum var at offset");
}

TEST_F(spool_file_test, CorruptVarFailsTheChecksum) {
  bytes f;
  ASSERT_FALSE(append_spool_file(f, task, {}));
  f[8] ^= 0x20;  // a byte of the first key
  expect_bad(f, errc::spool_bad_checksum, "but the vars before it");
}

TEST_F(spool_file_test, MalformedChecksumIsReported) {
  expect_bad(with_checksum(task, "crc32:CBF43926", ""), errc::spool_bad_checksum, "malformed");
  expect_bad(with_checksum(task, "crc32:cbf4392", ""), errc::spool_bad_checksum, "malformed");
  expect_bad(with_checksum(task, "md5:0123456789", ""), errc::spool_bad_checksum, "malformed");
  expect_bad(with_checksum(task, "", ""), errc::spool_bad_checksum, "malformed");
}

TEST_F(spool_file_test, ChecksumNotLastIsReported) {
  bytes g = uwsgi_file({{spool_checksum_key, "crc32:00000000"}, {"k", "v"}}, "");
  expect_bad(g, errc::spool_bad_checksum, "offset 4 is not the last var");
}

TEST_F(spool_file_test, EmptyKeyIsRejectedAndOutUnchanged) {
  bytes f{9};
  EXPECT_EQ(append_spool_file(f, {{"", "v"}}, {}), make_error_code(errc::field_too_long));
  EXPECT_EQ(f, bytes{9});
}

TEST_F(spool_file_test, VarsBlockLimitCountsTheChecksumVar) {
  // One var of 4 + 1 + v bytes plus the 32-byte checksum record: the largest v that fits.
  const std::size_t fits = spool_max_vars_block - 32 - 5;
  std::string big(fits, 'x');
  bytes f;
  ASSERT_FALSE(append_spool_file(f, {{"k", big}}, as_bytes("and a body")));
  ASSERT_TRUE(decode(f).is_done());
  EXPECT_EQ(out.head.size, spool_max_vars_block);
  big.push_back('x');
  bytes g{7};
  EXPECT_EQ(append_spool_file(g, {{"k", big}}, {}), make_error_code(errc::payload_too_long));
  EXPECT_EQ(g, bytes{7});
}

TEST_F(spool_file_test, ErrorMessagesExist) {
  for (errc e : {errc::spool_truncated, errc::spool_not_a_task, errc::spool_bad_checksum}) {
    EXPECT_NE(make_error_code(e).message(), "unknown wire error");
  }
}

}  // namespace
}  // namespace brood::wire

// The task log's byte format (log_record.hpp): round trips, and every bad input named.
#include <gtest/gtest.h>

#include <string>

#include "log_record.hpp"
#include "log_segment.hpp"

namespace brood::spooler::tasklog {
namespace {

wire::bytes record_bytes(record_type type, std::uint64_t gen, std::uint64_t seq,
                         std::string_view path, std::string_view data) {
  wire::bytes b;
  append_record(b, {type, gen, seq, path, wire::as_bytes(data)});
  return b;
}

TEST(log_record, crc32c_check_value) {
  EXPECT_EQ(crc32c(wire::as_bytes("123456789")), 0xe3069283U);
}

TEST(log_record, task_round_trip) {
  const std::string data("\x11\x00\x00\x00body bytes", 14);
  const wire::bytes b = record_bytes(record_type::task, 7, 42, "5/uwsgi_spoolfile_on_x", data);
  EXPECT_EQ(b.size(), record_size("5/uwsgi_spoolfile_on_x", data.size()));
  log_record r;
  const log_decode d = decode_record(b, 7, r);
  ASSERT_TRUE(d.is_record()) << d.why;
  EXPECT_EQ(d.consumed, b.size());
  EXPECT_EQ(r.type, record_type::task);
  EXPECT_EQ(r.generation, 7U);
  EXPECT_EQ(r.seq, 42U);
  EXPECT_EQ(r.path, "5/uwsgi_spoolfile_on_x");
  EXPECT_EQ(wire::as_chars(r.data), data);
}

TEST(log_record, done_round_trip_then_zeros_end) {
  wire::bytes b = record_bytes(record_type::done, 1, 3, "uwsgi_spoolfile_on_y", "");
  const std::size_t first = b.size();
  b.resize(first + 100, 0);
  log_record r;
  log_decode d = decode_record(b, 1, r);
  ASSERT_TRUE(d.is_record());
  EXPECT_EQ(r.type, record_type::done);
  EXPECT_TRUE(r.data.empty());
  d = decode_record(wire::bytes_view(b).subspan(first), 1, r);
  EXPECT_EQ(d.what, log_decode::kind::end);
  EXPECT_EQ(decode_record({}, 1, r).what, log_decode::kind::end);
}

void expect_bad(wire::bytes_view b, std::uint64_t gen, log_errc e) {
  log_record r;
  const log_decode d = decode_record(b, gen, r);
  EXPECT_EQ(d.what, log_decode::kind::bad);
  EXPECT_EQ(d.error, make_error_code(e)) << d.why;
  EXPECT_FALSE(d.why.empty());
}

// Rewrites the crc of a record whose body was edited, so a later check is reached.
void reseal(wire::bytes& b) {
  const std::uint32_t crc = crc32c(wire::bytes_view(b).subspan(12));
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<wire::byte>(crc >> (8 * i));
}

TEST(log_record, every_bad_input_is_named) {
  const wire::bytes good = record_bytes(record_type::task, 3, 1, "a/b", "data");
  wire::bytes b = good;
  b[0] ^= 1;
  expect_bad(b, 3, log_errc::bad_magic);
  expect_bad(wire::bytes_view(good).first(20), 3, log_errc::truncated);
  expect_bad(wire::bytes_view(good).first(good.size() - 1), 3, log_errc::truncated);
  b = good;
  b[4] = 3;  // length 3: less than the fixed fields
  b[5] = b[6] = b[7] = 0;
  expect_bad(b, 3, log_errc::bad_length);
  b = good;
  b.back() ^= 0x40;  // a flipped bit in the data
  expect_bad(b, 3, log_errc::bad_checksum);
  expect_bad(good, 4, log_errc::stale_generation);
  b = good;
  b[12 + 8] = 9;  // type
  reseal(b);
  expect_bad(b, 3, log_errc::bad_type);
  b = good;
  b[12 + 17] = 200;  // path length past the record
  reseal(b);
  expect_bad(b, 3, log_errc::bad_path);
  for (const char* p : {"/abs", "a/../b", "./a", "a//b", "a/", ""}) {
    wire::bytes bad_path;
    append_record(bad_path, {record_type::task, 3, 1, p, {}});
    SCOPED_TRACE(p);
    expect_bad(bad_path, 3, log_errc::bad_path);
  }
}

TEST(log_record, valid_paths) {
  EXPECT_TRUE(valid_path("uwsgi_spoolfile_on_h_1_2_3_4_5"));
  EXPECT_TRUE(valid_path("10/uwsgi_spoolfile_on_h"));
  EXPECT_TRUE(valid_path(".x"));
  EXPECT_FALSE(valid_path(std::string(max_path + 1, 'a')));
  EXPECT_FALSE(valid_path(std::string("a\0b", 3)));
}

TEST(log_record, segment_header_round_trip) {
  const segment_header h{segment_state::active, 12, 345};
  wire::bytes b;
  append_segment_header(b, h);
  ASSERT_EQ(b.size(), header_size);
  segment_header got;
  ASSERT_TRUE(decode_segment_header(b, got).is_record());
  EXPECT_EQ(got, h);
  const wire::bytes zeros(header_size, 0);
  ASSERT_TRUE(decode_segment_header(zeros, got).is_record());
  EXPECT_EQ(got.state, segment_state::unused);
}

TEST(log_record, bad_segment_headers_are_named) {
  wire::bytes good;
  append_segment_header(good, {segment_state::clean, 2, 1});
  segment_header h;
  auto expect = [&](wire::bytes_view b, log_errc e) {
    const log_decode d = decode_segment_header(b, h);
    EXPECT_EQ(d.error, make_error_code(e)) << d.why;
    EXPECT_EQ(h.state, segment_state::unused);
  };
  expect(wire::bytes_view(good).first(100), log_errc::truncated);
  wire::bytes b = good;
  b[1] ^= 1;
  expect(b, log_errc::bad_magic);
  b = good;
  b[20] ^= 1;
  expect(b, log_errc::bad_checksum);
  auto resealed = [&](std::size_t at, wire::byte v) {
    wire::bytes x = good;
    x[at] = v;
    const std::uint32_t crc = crc32c(wire::bytes_view(x).first(32));
    for (int i = 0; i < 4; ++i) x[32 + i] = static_cast<wire::byte>(crc >> (8 * i));
    return x;
  };
  expect(resealed(8, 9), log_errc::bad_version);
  expect(resealed(12, 7), log_errc::bad_state);
}

TEST(log_record, scan_stops_at_a_torn_or_stale_record) {
  segment_image seg;
  append_segment_header(seg.bytes, {segment_state::active, 5, 1});
  seg.header = {segment_state::active, 5, 1};
  append_record(seg.bytes, {record_type::task, 5, 1, "t1", wire::as_bytes("one")});
  append_record(seg.bytes, {record_type::done, 5, 2, "t0", {}});
  const std::size_t good_end = seg.bytes.size();
  append_record(seg.bytes, {record_type::task, 4, 9, "old", wire::as_bytes("stale")});
  seg.bytes.resize(seg.bytes.size() + 64, 0);
  std::vector<std::string> seen;
  log_decode end = scan_records(seg, [&](const log_record& r) { seen.emplace_back(r.path); });
  EXPECT_EQ(seen, (std::vector<std::string>{"t1", "t0"}));
  EXPECT_EQ(end.error, make_error_code(log_errc::stale_generation));
  EXPECT_NE(end.why.find("segment offset " + std::to_string(good_end)), std::string::npos);
  seg.bytes[good_end - 1] ^= 1;  // tear the done record
  seen.clear();
  end = scan_records(seg, [&](const log_record& r) { seen.emplace_back(r.path); });
  EXPECT_EQ(seen, (std::vector<std::string>{"t1"}));
  EXPECT_EQ(end.error, make_error_code(log_errc::bad_checksum));
}

TEST(log_record, segment_names) {
  EXPECT_EQ(segment_path("/s", 3, 1), "/s/.brood_log/slot-3-b");
  EXPECT_EQ(slot_lock_path("/s/", 0), "/s/.brood_log/slot-0.lock");
  EXPECT_EQ(parse_segment_name("slot-12-a"), (std::pair{12, 0}));
  EXPECT_EQ(parse_segment_name("slot-0-b"), (std::pair{0, 1}));
  EXPECT_FALSE(parse_segment_name("slot-0.lock"));
  EXPECT_FALSE(parse_segment_name("slot--a"));
  EXPECT_FALSE(parse_segment_name("slot-x-a"));
}

}  // namespace
}  // namespace brood::spooler::tasklog

#pragma once
// The task log's byte format (docs/spool_format.md, "The task log"): a segment header, then
// records. Pure: no I/O, no allocation when decoding. All integers little-endian.
//
// Segment header (header_size bytes at offset 0, zero-padded):
//   [u64 magic "BRDTLOG1"][u32 version][u32 state][u64 generation][u64 first_seq][u32 crc32c]
//   The crc covers the 32 bytes before it. An all-zero header is a never-used segment.
// Record (from offset header_size on, back to back):
//   [u32 magic][u32 length][u32 crc32c][u64 generation][u8 type][u64 seq][u16 path_len][path]
//   [data]  -- length counts the bytes after the crc, the crc covers them.
//   path: the spool file's path relative to the spool dir; data: a task's whole spool file.
// Scanning a segment: records are decoded one after the other until the first one that is not
// a record of the segment's generation (zeros, a torn or stale record): that ends the scan.
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "brood/wire/bytes.hpp"

namespace brood::spooler::tasklog {

constexpr std::uint32_t log_version = 1;
constexpr std::size_t header_size = 512;
constexpr std::size_t record_overhead = 4 + 4 + 4 + 8 + 1 + 8 + 2;
constexpr std::size_t max_path = 4096;

enum class segment_state : std::uint32_t { unused = 0, active = 1, clean = 2 };

struct segment_header {
  segment_state state = segment_state::unused;
  std::uint64_t generation = 0;
  std::uint64_t first_seq = 0;
  bool operator==(const segment_header&) const = default;
};

enum class record_type : std::uint8_t { task = 1, done = 2 };

// A decoded record; path and data point into the decoded bytes.
struct log_record {
  record_type type = record_type::task;
  std::uint64_t generation = 0;
  std::uint64_t seq = 0;
  std::string_view path;
  wire::bytes_view data;
};

enum class log_errc {
  bad_magic = 1,     // neither zeros nor a record/header magic
  truncated,         // the record or header runs past the end of the bytes
  bad_length,        // a length field too small for the fixed fields
  bad_checksum,      // the crc32c does not match (a torn or corrupt write)
  stale_generation,  // a whole record of another generation (bytes of an earlier use)
  bad_type,          // a record type that is neither task nor done
  bad_path,          // empty, absolute, with a "." or ".." component, or over max_path
  bad_version,       // a segment header of another format version
  bad_state,         // a segment header state that is not active or clean
};
const std::error_category& log_category() noexcept;
std::error_code make_error_code(log_errc e) noexcept;

// Outcome of a decode: a record (consumed bytes), the end of the written part (zeros), or bad
// (error + why: what and at which offset of the bytes given).
struct log_decode {
  enum class kind { record, end, bad };
  kind what = kind::end;
  std::size_t consumed = 0;
  std::error_code error;
  std::string why;
  bool is_record() const noexcept { return what == kind::record; }
};

std::uint32_t crc32c(wire::bytes_view b) noexcept;

// Appends exactly header_size bytes.
void append_segment_header(wire::bytes& out, const segment_header& h);
// Decodes the first header_size bytes; an all-zero header gives state unused (kind::record).
log_decode decode_segment_header(wire::bytes_view in, segment_header& out);

std::size_t record_size(std::string_view path, std::size_t data_size) noexcept;
// REQUIRES: path is valid (see bad_path) and data fits with it in a u32 length.
void append_record(wire::bytes& out, const log_record& r);
// Decodes the record at the start of `in`; `generation` is the segment's.
log_decode decode_record(wire::bytes_view in, std::uint64_t generation, log_record& out);
bool valid_path(std::string_view path) noexcept;

}  // namespace brood::spooler::tasklog

template <>
struct std::is_error_code_enum<brood::spooler::tasklog::log_errc> : std::true_type {};

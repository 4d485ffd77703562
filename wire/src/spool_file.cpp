#include "brood/wire/spool_file.hpp"

#include <boost/crc.hpp>
#include <cstdint>
#include <cstdio>
#include <string>

#include "le16.hpp"

namespace brood::wire {
namespace {

constexpr std::string_view checksum_prefix = "crc32:";
constexpr std::size_t checksum_hex_digits = 8;
constexpr std::size_t checksum_value_size = checksum_prefix.size() + checksum_hex_digits;
// The checksum record: key length, key, value length, value.
constexpr std::size_t checksum_record_size =
    2 * detail::u16_size + spool_checksum_key.size() + checksum_value_size;

// CRC-32 over `vars` (the block bytes before the checksum var) followed by `body`.
std::uint32_t spool_crc(bytes_view vars, bytes_view body) noexcept {
  boost::crc_32_type crc;
  crc.process_bytes(vars.data(), vars.size());
  crc.process_bytes(body.data(), body.size());
  return crc.checksum();
}

std::string format_checksum(std::uint32_t crc) {
  char buf[checksum_value_size + 1];
  std::snprintf(buf, sizeof buf, "crc32:%08x", static_cast<unsigned>(crc));
  return std::string(buf, checksum_value_size);
}

// Parses "crc32:" + 8 lowercase hex digits; false when malformed.
bool parse_checksum(std::string_view v, std::uint32_t& crc) noexcept {
  if (v.size() != checksum_value_size || !v.starts_with(checksum_prefix)) return false;
  crc = 0;
  for (char c : v.substr(checksum_prefix.size())) {
    unsigned d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return false;
    }
    crc = (crc << 4) | d;
  }
  return true;
}

decode_result bad_checksum(std::size_t offset, const std::string& what) {
  return decode_result::bad(errc::spool_bad_checksum,
                            "brood_checksum var at offset " + std::to_string(offset) + " " + what);
}

// Checks the brood_checksum var `at` (an index into `vars`) against the file; on success removes
// it from `vars`. `block_off` is the file offset of the vars block.
decode_result check_checksum(bytes_view file, std::size_t block_off, std::vector<var>& vars,
                             std::size_t at, bytes_view body) {
  const var& cv = vars[at];
  // The record starts at its key length field, just before the key bytes.
  const auto key_off =
      static_cast<std::size_t>(reinterpret_cast<const byte*>(cv.key.data()) - file.data());
  const std::size_t rec_off = key_off - detail::u16_size;
  if (at + 1 != vars.size()) return bad_checksum(rec_off, "is not the last var");
  std::uint32_t want = 0;
  if (!parse_checksum(cv.value, want)) {
    return bad_checksum(rec_off, "is malformed: \"" + std::string(cv.value.substr(0, 32)) +
                                     "\" (want crc32: and 8 lowercase hex digits)");
  }
  const std::uint32_t got = spool_crc(file.subspan(block_off, rec_off - block_off), body);
  if (got != want) {
    return bad_checksum(rec_off, "says " + std::string(cv.value) + " but the vars before it and " +
                                     std::to_string(body.size()) + "-byte body give " +
                                     format_checksum(got));
  }
  vars.pop_back();
  return decode_result::done(file.size());
}

}  // namespace

std::error_code append_spool_file(bytes& out, const std::vector<var>& vars, bytes_view body) {
  std::vector<var> task;
  task.reserve(vars.size());
  for (const var& v : vars) {
    if (v.key != spool_checksum_key) task.push_back(v);  // brood writes its own, last
  }
  bytes block;
  if (auto ec = append_vars(block, task)) return ec;
  if (block.size() + checksum_record_size > spool_max_vars_block) return errc::payload_too_long;
  const std::string sum = format_checksum(spool_crc(block, body));
  if (auto ec = append_vars(block, {{spool_checksum_key, sum}})) return ec;
  const auto h =
      encode_header({to_byte(modifier1::spooler), static_cast<std::uint16_t>(block.size()), 0});
  out.reserve(out.size() + h.size() + block.size() + body.size());
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), block.begin(), block.end());
  out.insert(out.end(), body.begin(), body.end());
  return {};
}

decode_result decode_spool_file(bytes_view file, spool_file_view& out) {
  out = spool_file_view{};
  if (file.size() < header_size) {
    return decode_result::bad(errc::spool_truncated,
                              "spool file of " + std::to_string(file.size()) +
                                  " bytes is shorter than the 4-byte header");
  }
  const header h = decode_header(file);
  if (h.modifier1 != to_byte(modifier1::spooler)) {
    return decode_result::bad(errc::spool_not_a_task, "modifier1 " + std::to_string(h.modifier1) +
                                                          " at offset 0 is not 17 (spooler)");
  }
  if (file.size() - header_size < h.size) {
    return decode_result::bad(errc::spool_truncated, "header says a " + std::to_string(h.size) +
                                                         "-byte vars block but the file has only " +
                                                         std::to_string(file.size() - header_size) +
                                                         " bytes after the header");
  }
  limits lim;  // spool files are bounded by their u16 size, not by max-vars
  lim.max_vars = spool_max_vars_block;
  decode_result r = decode_vars(file.subspan(header_size, h.size), lim, out.vars);
  if (r.is_bad()) {
    out.vars.clear();
    r.why = "vars block at offset 4: " + r.why;
    return r;
  }
  const bytes_view body = file.subspan(header_size + h.size);
  for (std::size_t i = 0; i < out.vars.size(); ++i) {
    if (out.vars[i].key != spool_checksum_key) continue;
    r = check_checksum(file, header_size, out.vars, i, body);
    if (r.is_bad()) {
      out.vars.clear();
      return r;
    }
    out.checksummed = true;
    break;
  }
  out.head = h;
  out.body = body;
  return decode_result::done(file.size());
}

}  // namespace brood::wire

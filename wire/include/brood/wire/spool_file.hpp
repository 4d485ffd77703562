#pragma once
// The spool file (docs/uwsgi-compat.md §3.3, docs/spool_format.md): one task per file, laid out as
// a uwsgi packet: header [modifier1 17, u16 LE size of the vars block, modifier2 0], the vars
// block, then an optional raw body (everything after the vars up to the end of the file).
// brood adds one var, brood_checksum = "crc32:XXXXXXXX" (8 lowercase hex digits, CRC-32 as
// boost::crc_32_type computes it) over the vars block bytes before that var followed by the body.
// brood writes it as the last var; files without it (written by uWSGI) are accepted unchecked.
// Pure code: no I/O.
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/vars.hpp"

namespace brood::wire {

// Every task file name starts with this (uWSGI scans only such names).
inline constexpr std::string_view spool_file_prefix = "uwsgi_spoolfile_on_";
inline constexpr std::string_view spool_checksum_key = "brood_checksum";
// The largest vars block of a spool file (pktsize is a u16).
inline constexpr std::size_t spool_max_vars_block = 65535;

// Vars special to every spool request (docs/spool_format.md), kept in the file as sent.
inline constexpr std::string_view spool_key_spooler = "spooler";    // target dir (realpath)
inline constexpr std::string_view spool_key_priority = "priority";  // digits: DIR/<n>/
inline constexpr std::string_view spool_key_at = "at";              // unix time: not before
inline constexpr std::string_view spool_key_body = "body";          // (Python: the raw body)
// Vars brood adds when it rewrites a task after a failed attempt.
inline constexpr std::string_view spool_key_attempt = "brood_attempt";        // decimal, >= 2
inline constexpr std::string_view spool_key_last_error = "brood_last_error";  // text

using spool_vars = std::vector<std::pair<std::string, std::string>>;

struct spool_file_view {
  header head;               // modifier1 17, size = vars block bytes, modifier2 0
  std::vector<var> vars;     // the task's vars in file order, the brood_checksum var left out
  bytes_view body;           // the raw body after the vars block (may be empty)
  bool checksummed = false;  // a brood_checksum var was present (and matched)
};

// Appends a whole spool file: header, the vars, the brood_checksum var, the body.
// Errors: field_too_long (a key or value over 65535 bytes, an empty key), payload_too_long (the
// vars block with the checksum var over 65535 bytes: "use the body for bigger values").
// `out` is unchanged on error.
std::error_code append_spool_file(bytes& out, const std::vector<var>& vars, bytes_view body);

// Decodes the complete bytes of a spool file; views point into `file`. done: consumed ==
// file.size(). bad, with `why` naming what and where:
//   spool_truncated      shorter than the header, or than header + its size
//   spool_not_a_task     modifier1 is not 17
//   (vars errors)        a malformed vars block (decode_vars' errors)
//   spool_bad_checksum   a brood_checksum var that is malformed or does not match
// Never need_more. The vars are decoded without a pair limit (spool files are trusted local
// files, bounded by their u16 size).
decode_result decode_spool_file(bytes_view file, spool_file_view& out);

}  // namespace brood::wire

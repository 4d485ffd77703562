#pragma once
// Names and whole-segment helpers of the task log (docs/spool_format.md, "The task log"):
//   DIR/.brood_log/slot-N.lock   the OFD lock a writer holds while it owns slot N
//   DIR/.brood_log/slot-N-a, -b  slot N's two preallocated segments
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "log_env.hpp"
#include "log_record.hpp"

namespace brood::spooler::tasklog {

constexpr std::string_view log_dir_name = ".brood_log";

std::string log_dir_of(const std::string& spool_dir);
std::string slot_lock_path(const std::string& spool_dir, int slot);
std::string segment_path(const std::string& spool_dir, int slot, int which);  // which: 0 or 1
// The slot and segment a name in the log dir stands for ("slot-3-b" -> {3, 1}).
std::optional<std::pair<int, int>> parse_segment_name(std::string_view name);

// Writes `h` at offset 0 of `file` and fdatasyncs it (which also makes every earlier pwrite of
// the file durable).
os::status write_header(log_file& file, const segment_header& h);

// A segment read whole: its header (state unused if all zeros or unreadable) and its bytes.
struct segment_image {
  segment_header header;
  bool header_bad = false;  // a torn or corrupt header: treated as a clean segment
  wire::bytes bytes;
};
os::status read_segment(log_env& env, const std::string& path, segment_image& out);

// Calls `f` for every record of the segment's generation from header_size on, in order, and
// returns how the scan ended: kind::end (zeros, or the segment's end) or kind::bad (a torn or
// stale record: everything from there on is ignored).
log_decode scan_records(const segment_image& seg, const std::function<void(const log_record&)>& f);

}  // namespace brood::spooler::tasklog

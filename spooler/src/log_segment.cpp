#include "log_segment.hpp"

#include <charconv>

namespace brood::spooler::tasklog {

std::string log_dir_of(const std::string& spool_dir) {
  std::string d = spool_dir;
  if (d.empty() || d.back() != '/') d.push_back('/');
  return d.append(log_dir_name);
}

std::string slot_lock_path(const std::string& spool_dir, int slot) {
  return log_dir_of(spool_dir) + "/slot-" + std::to_string(slot) + ".lock";
}

std::string segment_path(const std::string& spool_dir, int slot, int which) {
  return log_dir_of(spool_dir) + "/slot-" + std::to_string(slot) + (which == 0 ? "-a" : "-b");
}

std::optional<std::pair<int, int>> parse_segment_name(std::string_view name) {
  if (name.size() < 8 || name.substr(0, 5) != "slot-") return std::nullopt;
  const std::string_view tail = name.substr(name.size() - 2);
  if (tail != "-a" && tail != "-b") return std::nullopt;
  const std::string_view digits = name.substr(5, name.size() - 7);
  int slot = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), slot);
  if (ec != std::errc() || p != digits.data() + digits.size() || slot < 0) return std::nullopt;
  return std::pair{slot, tail == "-a" ? 0 : 1};
}

os::status write_header(log_file& file, const segment_header& h) {
  wire::bytes b;
  append_segment_header(b, h);
  if (auto s = file.pwrite(0, b); !s.ok()) return s;
  return file.datasync();
}

os::status read_segment(log_env& env, const std::string& path, segment_image& out) {
  out = {};
  if (auto s = env.read_file(path, out.bytes); !s.ok()) return s;
  const log_decode d = decode_segment_header(out.bytes, out.header);
  out.header_bad = !d.is_record();
  if (out.header_bad) out.header = {};
  return {};
}

log_decode scan_records(const segment_image& seg, const std::function<void(const log_record&)>& f) {
  if (seg.header.state == segment_state::unused || seg.bytes.size() < header_size) return {};
  wire::bytes_view rest = wire::bytes_view(seg.bytes).subspan(header_size);
  std::size_t offset = header_size;
  for (;;) {
    log_record r;
    log_decode d = decode_record(rest, seg.header.generation, r);
    if (!d.is_record()) {
      if (d.what == log_decode::kind::bad)
        d.why += " (segment offset " + std::to_string(offset) + ")";
      return d;
    }
    f(r);
    rest = rest.subspan(d.consumed);
    offset += d.consumed;
  }
}

}  // namespace brood::spooler::tasklog

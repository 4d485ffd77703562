#include "log_recovery.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "brood/os/log.hpp"
#include "brood/wire/spool_file.hpp"
#include "log_segment.hpp"

namespace brood::spooler::tasklog {
namespace {

struct found_segment {
  int slot = 0;
  int which = 0;
  std::string path;
  segment_image image;
};

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// The vars of a task file but those a retry rewrites (brood_attempt, brood_last_error).
std::vector<wire::var> task_vars(const wire::spool_file_view& v) {
  std::vector<wire::var> out;
  for (const wire::var& x : v.vars)
    if (x.key != wire::spool_key_attempt && x.key != wire::spool_key_last_error) out.push_back(x);
  return out;
}

// True when the file at `path` is the task: byte-equal to the record, or whole (brood's
// checksum) with the record's body and vars, the retry's own vars aside (a retried task's file
// is rewritten with them: recovery must not take its attempts back). A whole file of another
// task is not it: a reused file (file_pool.hpp) may show its last task's bytes after a cut.
bool file_is_whole(log_env& env, const std::string& path, wire::bytes_view record_data) {
  wire::bytes content;
  if (!env.read_file(path, content).ok()) return false;
  if (std::equal(content.begin(), content.end(), record_data.begin(), record_data.end()))
    return true;
  wire::spool_file_view view, record;
  if (!wire::decode_spool_file(content, view).is_done() || !view.checksummed) return false;
  if (!wire::decode_spool_file(record_data, record).is_done()) return false;
  return std::equal(view.body.begin(), view.body.end(), record.body.begin(), record.body.end()) &&
         task_vars(view) == task_vars(record);
}

os::status materialize(log_env& env, const std::string& dir, const log_record& r) {
  const std::string rel(r.path);
  const std::string sub = parent_of(rel);
  const std::string target_dir = sub.empty() ? dir : dir + "/" + sub;
  if (!sub.empty()) {
    if (auto s = env.make_dir(target_dir); !s.ok()) return s;
  }
  const std::string name = rel.substr(rel.rfind('/') + 1);
  return env.write_file(target_dir, ".brood_tmp_recover_" + name, name, r.data);
}

os::result<std::vector<found_segment>> read_all(log_env& env, const std::string& dir) {
  auto names = env.list_dir(log_dir_of(dir));
  if (!names) return names.error();
  std::vector<found_segment> out;
  for (const auto& n : *names) {
    const auto id = parse_segment_name(n);
    if (!id) continue;
    found_segment f{id->first, id->second, log_dir_of(dir) + "/" + n, {}};
    if (auto s = read_segment(env, f.path, f.image); !s.ok()) return s;
    if (f.image.header_bad) os::log("task log: ", f.path, ": bad header, taken as clean");
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

os::result<recovery_report> recover_slots(log_env& env, const std::string& dir,
                                          const std::vector<int>& slots) {
  auto segments = read_all(env, dir);
  if (!segments) return segments.error();
  recovery_report rep;
  std::set<std::string, std::less<>> done;
  std::vector<found_segment*> mine;
  for (auto& seg : *segments) {
    const bool recover = seg.image.header.state == segment_state::active &&
                         std::find(slots.begin(), slots.end(), seg.slot) != slots.end();
    if (recover) mine.push_back(&seg);
    const log_decode end = scan_records(seg.image, [&](const log_record& r) {
      if (r.type == record_type::done) done.emplace(r.path);
    });
    if (recover && end.what == log_decode::kind::bad) {
      ++rep.torn_tails;
      os::log("task log: ", seg.path,
              ": scan ended by a torn or stale record (never acknowledged): ", end.why);
    }
  }
  // A done task's file that came back (its unlink was not durable, its done record is) or was
  // never set aside (its spooler process, or the whole node, was killed in between: the done
  // record is written first) goes, whichever segment holds its task record (it may be clean
  // already). A live spooler may set it aside meanwhile (ENOENT here, or there).
  for (const auto& rel : done) {
    const std::string path = dir + "/" + rel;
    if (!env.exists(path)) continue;
    if (auto s = env.remove_file(path); !s.ok()) {
      if (s.code() == std::error_code(ENOENT, std::system_category())) continue;
      return s;
    }
    ++rep.removed;
  }
  for (found_segment* seg : mine) {
    os::status failed;
    scan_records(seg->image, [&](const log_record& r) {
      if (r.type != record_type::task || !failed.ok()) return;
      ++rep.tasks;
      if (done.count(r.path)) return;
      if (file_is_whole(env, dir + "/" + std::string(r.path), r.data)) return;
      if ((failed = materialize(env, dir, r)).ok()) ++rep.materialized;
    });
    if (!failed.ok()) return failed;
  }
  if (mine.empty() && rep.removed == 0) return rep;
  if (auto s = env.sync_fs(dir); !s.ok()) return s;
  for (found_segment* seg : mine) {
    auto file = env.open_file(seg->path);
    if (!file) return file.error();
    segment_header h = seg->image.header;
    h.state = segment_state::clean;
    if (auto s = write_header(**file, h); !s.ok()) return s;
    ++rep.segments_recovered;
  }
  return rep;
}

}  // namespace brood::spooler::tasklog

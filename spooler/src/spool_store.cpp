// The durable spool store (spool_store.hpp, docs/spool_format.md): the enqueue and write side.
// A request is checked (its dir, priority and `at`), encoded, and written through the task log
// (the owner's, over log_server, or this process's) or durably file by file; also rewrite,
// move_aside and dir_of. The logs themselves are spool_store_log.cpp's.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <mutex>

#include "brood/spooler/spool_store.hpp"
#include "brood/wire/spool_file.hpp"
#include "log_env.hpp"
#include "log_server.hpp"
#include "process_id.hpp"
#include "spool_fs.hpp"
#include "spool_name.hpp"
#include "spool_store_detail.hpp"
#include "task_log.hpp"

namespace brood::spooler {
namespace {

using spool_fs::fs_status;
using store_detail::all_digits;
using store_detail::fail;
using store_detail::find_value;
using store_detail::quoted;
using store_detail::real_path;
using store_detail::write_failure;
using times_pair = std::array<struct timespec, 2>;  // atime, mtime

// `at`: decimal digits, optionally a '.' and more digits (the fraction is cut, as uWSGI).
bool parse_at(std::string_view v, std::time_t& out) noexcept {
  const auto dot = v.find('.');
  const std::string_view whole = v.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : v.substr(dot + 1);
  if (whole.empty() || !all_digits(whole) || !all_digits(frac)) return false;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), out);
  return ec == std::errc{} && end == whole.data() + whole.size();
}

// Encodes the whole file. bad_request for an empty key; too_big for a vars block over 65535.
spool_status encode(const spool_vars& vars, std::string_view body, wire::bytes& out) {
  std::vector<wire::var> wv;
  wv.reserve(vars.size());
  std::size_t block = 0;
  for (std::size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].first.empty()) {
      return fail(spool_errc::bad_request, "spool var " + std::to_string(i) + " has an empty key");
    }
    wv.push_back({vars[i].first, vars[i].second});
    block += 4 + vars[i].first.size() + vars[i].second.size();
  }
  if (wire::append_spool_file(out, wv, wire::as_bytes(body))) {
    return fail(spool_errc::too_big, "the spool vars block (" + std::to_string(block) +
                                         " bytes before brood's checksum var) exceeds " +
                                         std::to_string(wire::spool_max_vars_block) +
                                         " bytes: use the body for bigger values");
  }
  return {};
}

// The target dir: the `spooler` var's (an exact realpath, or a path resolving to one) or the
// default (the first dir).
spool_status pick_dir(const std::vector<std::string>& dirs, const spool_vars& vars,
                      std::string& dir) {
  const std::string* want = find_value(vars, spool_key_spooler);
  if (!want) {
    dir = dirs.front();
    return {};
  }
  auto it = std::find(dirs.begin(), dirs.end(), *want);
  if (it == dirs.end()) {
    if (auto rp = real_path(*want)) it = std::find(dirs.begin(), dirs.end(), *rp);
  }
  if (it == dirs.end()) {
    std::string known;
    for (const auto& d : dirs) known.append(known.empty() ? "" : ", ").append(d);
    return fail(
        spool_errc::unknown_spooler,
        "spooler " + quoted(*want) + " is none of this node's spooler dirs (" + known + ")");
  }
  dir = *it;
  return {};
}

// What every enqueue checks first: the node has a spooler dir, the task's target dir
// (pick_dir), and its priority, when given, is digits.
spool_status pick_checked_dir(const std::vector<std::string>& dirs, const spool_vars& vars,
                              std::string& dir) {
  if (dirs.empty()) return fail(spool_errc::no_spooler, "this node has no spooler dir");
  if (spool_status s = pick_dir(dirs, vars, dir); !s) return s;
  const std::string* priority = find_value(vars, spool_key_priority);
  if (priority && (priority->empty() || !all_digits(*priority))) {
    return fail(spool_errc::bad_request, "priority " + quoted(*priority) + " is not digits");
  }
  return {};
}

// `dir` itself when it is one of `dirs`, or its parent when `dir` is a priority subdir of one.
std::optional<std::string> match_dir(const std::vector<std::string>& dirs, const std::string& dir) {
  if (std::find(dirs.begin(), dirs.end(), dir) != dirs.end()) return dir;
  const std::string_view sub = spool_fs::name_of(dir);
  if (sub.empty() || !all_digits(sub)) return std::nullopt;
  std::string up = spool_fs::parent_of(dir);
  if (std::find(dirs.begin(), dirs.end(), up) != dirs.end()) return up;
  return std::nullopt;
}

times_pair times_at(std::chrono::system_clock::time_point t) noexcept {
  using namespace std::chrono;
  const auto ns =
      std::max<std::int64_t>(0, duration_cast<nanoseconds>(t.time_since_epoch()).count());
  const struct timespec ts {
    static_cast<std::time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)
  };
  return {ts, ts};
}

}  // namespace

spool_status spool_store::enqueue(const spool_vars& vars, std::string_view body) const {
  std::string dir;
  if (spool_status s = pick_checked_dir(dirs_, vars, dir); !s) return s;
  const std::string* priority = find_value(vars, spool_key_priority);
  times_pair times{};
  const std::string* at = find_value(vars, spool_key_at);
  if (at) {
    std::time_t t = 0;
    if (!parse_at(*at, t)) {
      return fail(spool_errc::bad_request, "at " + quoted(*at) + " is not a unix time");
    }
    times[0] = times[1] = {t, 0};
  }
  wire::bytes file;
  if (spool_status s = encode(vars, body, file); !s) return s;
  const std::string top = dir;
  if (priority) {
    dir = spool_fs::join(dir, *priority);
    if (fs_status s = spool_fs::ensure_dir(dir); !s) return write_failure(std::move(s));
  }
  const std::string suffix = next_spool_suffix();
  bool too_big = file.size() > opts_.log_segment_size;  // the durable write of §4 at once
  if (!at && !too_big && logged(top)) {
    // A process forked from the store's owner: the owner's log commits the record (with every
    // other process's), this process writes the file meanwhile.
    std::string server;
    {
      std::lock_guard lock(logs_->mu);
      logs_->check_pid();
      if (logs_->server_pid != current_pid()) server = logs_->server_name;
    }
    if (!server.empty()) {
      const std::string name = spool_file_name(suffix);
      const std::size_t index =
          static_cast<std::size_t>(std::find(dirs_.begin(), dirs_.end(), top) - dirs_.begin());
      auto out = log_client::commit(
          server, index, priority ? *priority + "/" + name : name, file,
          [&] { return posix_log_env().write_file(dir, ".brood_tmp_" + name, name, file); });
      if (!out.unreachable && out.seq) {
        spool_status ok;
        ok.path = spool_fs::join(dir, name);
        return ok;
      }
      if (!out.unreachable && out.seq.error().code().value() != EFBIG) {
        (void)::unlink(spool_fs::join(dir, name).c_str());  // not acknowledged: best effort
        return fail(spool_errc::write_failed, out.seq.error().message());
      }
      // EFBIG: written durably below (its file is replaced); unreachable: this process's log.
      too_big = !out.unreachable;
    }
  }
  if (task_log* log = at || too_big ? nullptr : log_of(top)) {
    const std::string name = spool_file_name(suffix);
    auto seq = log->enqueue(priority ? *priority + "/" + name : name, file);
    if (seq) {
      publish(top, *log);
      spool_status ok;
      ok.path = spool_fs::join(dir, name);
      return ok;
    }
    // A task bigger than a segment is written durably on its own; any other failure is final.
    if (seq.error().code().value() != EFBIG)
      return fail(spool_errc::write_failed, seq.error().message());
  }
  const spool_fs::durable_file f{dir, spool_temp_name(suffix), spool_file_name(suffix),
                                 at ? times.data() : nullptr, true};
  if (fs_status s = spool_fs::durable_write(f, file); !s) return write_failure(std::move(s));
  spool_status ok;
  ok.path = spool_fs::join(dir, f.final_name);
  return ok;
}

spool_status spool_store::prepare_shared(const spool_vars& vars, std::string_view body, pid_t pid,
                                         std::optional<shared_task>& out) const {
  out.reset();
  std::string dir;
  if (spool_status s = pick_checked_dir(dirs_, vars, dir); !s) return s;
  const std::string* priority = find_value(vars, spool_key_priority);
  if (find_value(vars, spool_key_at) || !logged(dir)) return {};  // enqueue() does it all
  shared_task t;
  if (spool_status s = encode(vars, body, t.file); !s) return s;
  if (t.file.size() > opts_.log_segment_size) return {};
  t.dir_index =
      static_cast<std::size_t>(std::find(dirs_.begin(), dirs_.end(), dir) - dirs_.begin());
  if (priority) {
    t.dir = spool_fs::join(dir, *priority);
    if (fs_status s = spool_fs::ensure_dir(t.dir); !s) return write_failure(std::move(s));
  } else {
    t.dir = dir;
  }
  t.name = spool_file_name(next_spool_suffix(pid));
  t.rel_path = priority ? *priority + "/" + t.name : t.name;
  out = std::move(t);
  return {};
}

spool_status spool_store::rewrite(const std::string& path, const spool_vars& vars,
                                  std::string_view body,
                                  std::chrono::system_clock::time_point not_before) const {
  wire::bytes file;
  if (spool_status s = encode(vars, body, file); !s) return s;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return write_failure(spool_fs::failure(errno, "rewrite", path));  // never resurrect a task
  }
  const std::string dir = spool_fs::parent_of(path);
  const times_pair times = times_at(not_before);
  const spool_fs::durable_file f{dir.empty() ? "." : dir, spool_temp_name(next_spool_suffix()),
                                 std::string(spool_fs::name_of(path)), times.data(), false};
  if (fs_status s = spool_fs::durable_write(f, file); !s) return write_failure(std::move(s));
  spool_status ok;
  ok.path = path;
  return ok;
}

spool_status spool_store::move_aside(const std::string& path, std::string_view subdir) const {
  if (subdir.empty() || subdir.find('/') != std::string_view::npos || subdir == "." ||
      subdir == "..") {
    return fail(spool_errc::bad_request, "bad subdir " + quoted(subdir) + " to move " + path);
  }
  const std::optional<std::string> dir = dir_of(path);
  if (!dir) return fail(spool_errc::unknown_spooler, path + " is in none of the spooler dirs");
  const std::string target_dir = spool_fs::join(*dir, subdir);
  if (fs_status s = spool_fs::ensure_dir(target_dir); !s) return write_failure(std::move(s));
  const std::string target = spool_fs::join(target_dir, spool_fs::name_of(path));
  if (fs_status s = spool_fs::durable_move(path, target); !s) return write_failure(std::move(s));
  task_done(path);
  spool_status ok;
  ok.path = target;
  return ok;
}

std::optional<std::string> spool_store::dir_of(const std::string& path) const {
  const std::string parent = spool_fs::parent_of(path);
  if (auto d = match_dir(dirs_, parent)) return d;
  if (auto rp = real_path(parent.empty() ? "." : parent)) return match_dir(dirs_, *rp);
  return std::nullopt;
}

}  // namespace brood::spooler

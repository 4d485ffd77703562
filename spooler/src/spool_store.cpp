// The durable spool store (spool_store.hpp, docs/spool_format.md).
#include "brood/spooler/spool_store.hpp"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "brood/os/log.hpp"
#include "brood/os/shared_array.hpp"
#include "brood/wire/spool_file.hpp"
#include "log_env.hpp"
#include "log_segment.hpp"
#include "log_server.hpp"
#include "process_id.hpp"
#include "spool_fs.hpp"
#include "spool_name.hpp"
#include "task_log.hpp"

namespace brood::spooler {
namespace {

using spool_fs::fs_status;
using times_pair = std::array<struct timespec, 2>;  // atime, mtime

spool_status fail(spool_errc e, std::string message) {
  return {make_error_code(e), std::move(message), {}};
}
spool_status write_failure(fs_status s) {
  return fail(spool_errc::write_failed, std::move(s.message));
}

// A value for a message: quoted, cut after 64 bytes.
std::string quoted(std::string_view v) {
  constexpr std::size_t shown = 64;
  std::string q = "\"";
  q.append(v.substr(0, shown)).append(v.size() > shown ? "...\"" : "\"");
  return q;
}

const std::string* find_value(const spool_vars& vars, std::string_view key) noexcept {
  for (const auto& [k, v] : vars) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool all_digits(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `at`: decimal digits, optionally a '.' and more digits (the fraction is cut, as uWSGI).
bool parse_at(std::string_view v, std::time_t& out) noexcept {
  const auto dot = v.find('.');
  const std::string_view whole = v.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : v.substr(dot + 1);
  if (whole.empty() || !all_digits(whole) || !all_digits(frac)) return false;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), out);
  return ec == std::errc{} && end == whole.data() + whole.size();
}

std::optional<std::string> real_path(const std::string& p) {
  std::unique_ptr<char, decltype(&std::free)> rp(::realpath(p.c_str(), nullptr), &std::free);
  if (!rp) return std::nullopt;
  return std::string(rp.get());
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

namespace {

// The task log counters of every process forked from the one that made the first store: an
// anonymous shared mapping made once per process tree (before the master forks), one entry per
// dir (keyed by a hash of its path), never unmapped before exit.
struct shared_log_counters {
  std::atomic<std::uint64_t> key{0};  // the dir's hash | 1; 0: a free entry
  std::atomic<std::uint64_t> tasks{0}, dones{0}, commits{0}, last_batch{0}, max_batch{0};
};
// Entries are never freed (a dir's counters live as long as the process tree): one process that
// makes many stores over many dirs (a test binary run with --gtest_repeat: about 13 dirs per run
// of spooler_tests) filled 64. The mapping's pages are touched only where entries are used.
constexpr std::size_t shared_log_entries = 4096;

os::shared_array<shared_log_counters>& shared_counters() {
  static os::shared_array<shared_log_counters> table = [] {
    auto t = os::shared_array<shared_log_counters>::open(shared_log_entries, "task log counters");
    return t ? std::move(*t) : os::shared_array<shared_log_counters>();
  }();
  return table;
}

// The entry of `dir` (made when `make`), null when the table is full or missing.
shared_log_counters* counters_of(const std::string& dir, bool make = true) {
  auto& t = shared_counters();
  if (!t) return nullptr;
  const std::uint64_t key = std::hash<std::string>{}(dir) | 1;
  for (std::size_t i = 0; i < t.size(); ++i) {
    shared_log_counters& e = t[(key + i) % t.size()];
    std::uint64_t k = e.key.load();
    if (k == key) return &e;
    if (k != 0) continue;
    if (!make) return nullptr;
    if (e.key.compare_exchange_strong(k, key) || k == key) return &e;
  }
  return nullptr;
}

// Calls `f(name, is_dir)` for every name in `dir` but "." and ".." (none if it cannot be read).
template <class F>
void for_each_name(const std::string& dir, F&& f) {
  std::unique_ptr<DIR, decltype(&::closedir)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return;
  while (const struct dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    f(name, e->d_type == DT_DIR);
  }
}

}  // namespace

// This process's task logs, opened lazily. A forked child finds its parent's logs here (same
// pid check as spool_name.cpp): it must not use them (their checkpointer thread is the
// parent's) nor destroy them, so it forgets them (leaked) and opens its own.
// With spool_store_options::shared_log, the process that made the store serves its logs to the
// processes it forks (log_server.hpp); `server_name` and `server_pid` stay readable there.
struct spool_store::logs {
  std::mutex mu;
  pid_t pid = current_pid();
  std::map<std::string, std::unique_ptr<task_log>> open;
  std::set<std::string> failed;  // dirs whose log could not be opened (logged once)
  // What publish() added to the shared counters; its mutex is not `mu`: the server's threads
  // take it (a child replaces both, see forget()).
  std::unique_ptr<std::mutex> publish_mu = std::make_unique<std::mutex>();
  std::map<std::string, task_log_stats> seen;
  std::unique_ptr<log_server> server;  // the owner's; dropped (leaked) in a child
  std::string server_name;             // "" without a server
  pid_t server_pid = 0;

  ~logs() {
    if (pid != current_pid()) {
      forget();
    } else {
      server.reset();  // its threads use the logs: stopped first
    }
  }
  // In a forked child: nothing of the parent's logs, server or publish lock is used again.
  void forget() {
    for (auto& [dir, log] : open) (void)log.release();
    open.clear();
    failed.clear();
    seen.clear();
    if (server) {
      server->drop_in_child();
      (void)server.release();
    }
    (void)publish_mu.release();  // may have been held by a server thread at the fork
    publish_mu = std::make_unique<std::mutex>();
  }
  // REQUIRES: mu held.
  void check_pid() {
    if (pid != current_pid()) {
      forget();
      pid = current_pid();
    }
  }
  // The log of `dir` in this process, or null when it cannot be opened. REQUIRES: mu held.
  task_log* get(const std::string& dir, const spool_store_options& opts, bool recover_unlocked,
                std::string* summary) {
    check_pid();
    if (auto it = open.find(dir); it != open.end()) return it->second.get();
    if (failed.count(dir)) return nullptr;
    task_log_options o;
    o.segment_size = opts.log_segment_size;
    o.recover_unlocked = recover_unlocked;
    auto l = task_log::open(posix_log_env(), dir, o);
    if (!l) {
      os::log("cannot open the task log of ", dir, ": ", l.error().message(),
              ": new tasks are written durably file by file");
      failed.insert(dir);
      return nullptr;
    }
    if (summary) {
      const task_log_stats st = (*l)->stats();
      const tasklog::recovery_report& r = st.recovery;
      *summary = "task log slot " + std::to_string(st.slot) + " of " + dir + ": recovered " +
                 std::to_string(r.segments_recovered) + " segment(s), " + std::to_string(r.tasks) +
                 " task record(s), " + std::to_string(r.materialized) + " file(s) written again, " +
                 std::to_string(r.removed) + " done file(s) removed, " +
                 std::to_string(r.torn_tails) + " torn tail(s)";
    }
    return open.emplace(dir, std::move(*l)).first->second.get();
  }
};

spool_store::spool_store(const std::vector<std::string>& dirs, spool_store_options opts)
    : opts_(opts), logs_(std::make_shared<logs>()) {
  (void)shared_counters();  // made now: before the master forks
  for (const std::string& d : dirs) {
    if (fs_status s = spool_fs::ensure_dir(d); !s) {
      throw std::system_error(s.err, std::generic_category(), "spooler dir " + d);
    }
    auto rp = real_path(d);
    if (!rp) throw std::system_error(errno, std::generic_category(), "cannot resolve " + d);
    dirs_.push_back(std::move(*rp));
  }
  if (opts_.shared_log) start_server();
}

// The logs are opened now (before any fork), the server's log_source only reads `served`.
// Their threads (checkpointers, the server's) start with every signal blocked: the master
// takes its signals (SIGCHLD...) through its own mask, set up later; a thread left open to them
// would take them instead (SIGCHLD's default is to drop it).
void spool_store::start_server() {
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  start_server_threads();
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void spool_store::start_server_threads() {
  std::vector<task_log*> served(dirs_.size(), nullptr);
  bool any = false;
  for (std::size_t d = 0; d < dirs_.size(); ++d) {
    std::string summary;  // its own slot's recovery (a dead master's slot is the first free)
    if ((served[d] = log_of(dirs_[d], false, &summary))) {
      any = true;
      os::log(summary);
    }
  }
  if (!any) return;
  std::weak_ptr<logs> weak = logs_;
  auto srv =
      log_server::start([served](std::size_t d) { return d < served.size() ? served[d] : nullptr; },
                        [dirs = dirs_, weak](std::size_t d, task_log& log) {
                          if (auto l = weak.lock(); l && d < dirs.size())
                            publish_into(*l, dirs[d], log);
                        });
  if (!srv) {
    os::log(srv.error().message(), ": each process of the node writes its own task log");
    return;
  }
  std::lock_guard lock(logs_->mu);
  logs_->server_name = (*srv)->name();
  logs_->server_pid = current_pid();
  logs_->server = std::move(*srv);
}

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

std::string spool_store::shared_server() const {
  std::lock_guard lock(logs_->mu);
  logs_->check_pid();
  return logs_->server_pid != current_pid() ? logs_->server_name : std::string();
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

bool spool_store::logged(const std::string& dir) const {
  const auto it = std::find(dirs_.begin(), dirs_.end(), dir);
  return it != dirs_.end() && static_cast<std::size_t>(it - dirs_.begin()) < opts_.logged_dirs;
}

task_log* spool_store::log_of(const std::string& dir, bool recover_unlocked,
                              std::string* summary) const {
  if (!logged(dir)) return nullptr;
  std::lock_guard lock(logs_->mu);
  return logs_->get(dir, opts_, recover_unlocked, summary);
}

void spool_store::task_done(const std::string& path) const {
  const std::optional<std::string> dir = dir_of(path);
  if (!dir || !logged(*dir)) return;
  std::string rel;
  if (path.size() > dir->size() && path.compare(0, dir->size(), *dir) == 0 &&
      path[dir->size()] == '/') {
    rel = path.substr(dir->size() + 1);
  } else {  // `path` names the dir another way: its parent's realpath does not
    const std::string parent = spool_fs::parent_of(path);
    const auto rp = real_path(parent.empty() ? "." : parent);
    if (!rp) return;
    const std::string name(spool_fs::name_of(path));
    rel = *rp == *dir ? name : std::string(spool_fs::name_of(*rp)) + "/" + name;
  }
  task_log* log = log_of(*dir);
  if (!log) return;
  if (auto seq = log->done(rel); !seq)
    os::log("cannot record the end of task ", path, " in the task log: ", seq.error().message());
  else
    publish(*dir, *log);
}

std::string spool_store::recover(const std::string& dir) const {
  std::string summary;
  (void)log_of(dir, true, &summary);
  return summary;
}

void spool_store::publish(const std::string& dir, task_log& log) const {
  publish_into(*logs_, dir, log);
}

void spool_store::publish_into(logs& l, const std::string& dir, task_log& log) {
  shared_log_counters* c = counters_of(dir);
  if (!c) return;
  std::lock_guard lock(*l.publish_mu);
  if (l.pid != current_pid()) return;
  // Read under the lock: a snapshot taken before it could be older than `seen` (another
  // thread published a newer one meanwhile) and move `seen` back, counting tasks twice.
  const task_log_stats st = log.stats();
  task_log_stats& seen = l.seen[dir];
  if (st.tasks > seen.tasks) c->tasks += st.tasks - seen.tasks;
  if (st.dones > seen.dones) c->dones += st.dones - seen.dones;
  if (st.commits > seen.commits) {
    c->commits += st.commits - seen.commits;
    c->last_batch = st.last_batch;
  }
  std::uint64_t max = c->max_batch.load();
  while (st.max_batch > max && !c->max_batch.compare_exchange_weak(max, st.max_batch)) {
  }
  seen = st;
}

spool_log_stats spool_store::log_stats(const std::string& dir) {
  spool_log_stats out;
  if (shared_log_counters* c = counters_of(dir, false)) {
    out.tasks = c->tasks;
    out.dones = c->dones;
    out.commits = c->commits;
    out.last_batch = c->last_batch;
    out.max_batch = c->max_batch;
  }
  for_each_name(dir + "/.brood_log", [&](const std::string& name, bool) {
    out.segments += tasklog::parse_segment_name(name).has_value();
  });
  for_each_name(dir, [&](const std::string& name, bool is_dir) {
    if (name.starts_with(wire::spool_file_prefix)) {
      ++out.pending;
    } else if (is_dir && all_digits(name)) {
      for_each_name(dir + "/" + name, [&](const std::string& task, bool) {
        out.pending += task.starts_with(wire::spool_file_prefix);
      });
    }
  });
  return out;
}

std::optional<std::string> spool_store::dir_of(const std::string& path) const {
  const std::string parent = spool_fs::parent_of(path);
  if (auto d = match_dir(dirs_, parent)) return d;
  if (auto rp = real_path(parent.empty() ? "." : parent)) return match_dir(dirs_, *rp);
  return std::nullopt;
}

}  // namespace brood::spooler

// The durable spool store (spool_store.hpp): its making and its task logs. The constructor
// resolves the dirs and, with spool_store_options::shared_log, starts the log server; this
// process's task logs (opened lazily), the ends of tasks recorded in them, recovery, and the
// counters every process of the tree publishes into one shared mapping (log_stats).
#include <dirent.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <memory>
#include <mutex>
#include <system_error>

#include "brood/os/log.hpp"
#include "brood/os/shared_array.hpp"
#include "brood/spooler/spool_store.hpp"
#include "brood/wire/spool_file.hpp"
#include "log_env.hpp"
#include "log_segment.hpp"
#include "log_server.hpp"
#include "process_id.hpp"
#include "spool_fs.hpp"
#include "spool_store_detail.hpp"
#include "task_log.hpp"

namespace brood::spooler {
namespace {

using spool_fs::fs_status;
using store_detail::all_digits;
using store_detail::real_path;

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

task_log* spool_store::logs::get(const std::string& dir, const spool_store_options& opts,
                                 bool recover_unlocked, std::string* summary) {
  check_pid();
  if (auto it = open.find(dir); it != open.end()) return it->second.get();
  if (failed.count(dir)) return nullptr;
  task_log_options o;
  o.segment_size = opts.log_segment_size;
  o.checkpoint_at_close = opts.checkpoint_logs_at_close;
  o.max_segment_age = opts.log_max_age;
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

spool_store_options spool_store_options::of(const spooler_config& cfg, bool shared_log) {
  spool_store_options o;
  o.logged_dirs = cfg.dirs.size();
  o.log_segment_size = cfg.log_size;
  o.shared_log = shared_log;
  o.log_max_age = cfg.log_max_age;
  return o;
}

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

std::string spool_store::shared_server() const {
  std::lock_guard lock(logs_->mu);
  logs_->check_pid();
  return logs_->server_pid != current_pid() ? logs_->server_name : std::string();
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

}  // namespace brood::spooler

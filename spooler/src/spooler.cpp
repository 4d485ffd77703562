// run_spooler: the body of a spooler process. One thread: a poll(2) loop over a signalfd and an
// inotify fd; between events it runs the due tasks one at a time, in queue order, looking for
// new events at most every 2 ms while tasks are due. Sleeping costs no CPU: poll's timeout is
// the earlier of the next known due time and the next full rescan.
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "brood/os/log.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/spooler/spooler.hpp"
#include "dir_watch.hpp"
#include "spool_claim.hpp"
#include "spool_queue.hpp"
#include "spool_scan.hpp"
#include "spool_share.hpp"
#include "spooler_task.hpp"

namespace brood::spooler {
namespace {

using namespace std::chrono_literals;
using sys_clock = std::chrono::system_clock;
using mono_clock = std::chrono::steady_clock;

constexpr auto busy_retry = 100ms;  // see handle_watch_events
constexpr auto look_every = 2ms;    // see run()
// Done tasks are set aside done_chunk at a time once nothing is due (then new files are looked
// for again), and one per task run while more than done_high wait (a long backlog).
constexpr std::size_t done_chunk = 16;
constexpr std::size_t done_high = 64;

std::string real_dir(const std::string& dir) {
  char buf[PATH_MAX];
  return ::realpath(dir.c_str(), buf) ? std::string(buf) : dir;
}

// The priority rank of a task file from where it lies: in `dir` itself, or in DIR/<digits>/.
std::uint64_t rank_of(const std::string& path, const std::string& dir) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || (slash == dir.size() && path.compare(0, slash, dir) == 0))
    return spool_queue::root_rank;
  const auto parent = path.rfind('/', slash - 1);
  auto rank = priority_rank(std::string_view(path).substr(parent + 1, slash - parent - 1));
  return rank.value_or(spool_queue::root_rank);
}

// HUP/USR2/PIPE/TSTP are ignored in a spooler process (docs/uwsgi-compat.md §3.5).
void ignore_signals() {
  struct sigaction ign = {};
  ign.sa_handler = SIG_IGN;
  for (int s : {SIGHUP, SIGUSR2, SIGPIPE, SIGTSTP}) ::sigaction(s, &ign, nullptr);
}

class spooler_process {
 public:
  spooler_process(const spooler_config& cfg, const spool_store& store, spooler_board& board,
                  std::size_t slot, const spool_handler& handler)
      : cfg_(cfg),
        store_(store),
        board_(board),
        slot_(slot),
        dir_(real_dir(board.dir(slot))),
        runner_(cfg, store, board, slot, handler, dir_),
        share_(spool_share::of_slot(board, slot, cfg.steal_after)),
        queue_(cfg.ordered),
        period_(std::max<mono_clock::duration>(cfg.frequency, 1s)) {}

  int run();

 private:
  void open_watches();    // signals and the dir; each left empty (logged) when it fails
  bool handle_signals();  // false: stop
  void handle_watch_events();
  void full_scan();
  void add_file(const std::string& path, std::uint64_t rank);
  // Queues the file at `path`, due at `due`: at `due` when it is this process's share, later
  // when it is another's (spool_share).
  // `exact`: see spool_queue::add.
  void enqueue(const std::string& path, std::uint64_t rank, sys_clock::time_point due,
               bool exact = true) {
    queue_.add(path, rank, share_.take_at(path, due), exact);
  }
  void recover_crashed();
  // Claims and runs the first due task; false when none was due.
  bool run_one();
  // True when claimed file `c` (popped as `next`) must wait for an older file (see run_one).
  bool runs_later(const spool_queue::popped& next, const spool_claim& c, sys_clock::time_point now);
  void after_claim_failure(spool_claim& c);
  // The time to the next known due time or full scan, in ms (for look).
  int wait_ms() const;
  // Waits up to `timeout_ms` for a signal or a watch event and handles what came; false: stop.
  bool look(int timeout_ms);

  const spooler_config& cfg_;
  const spool_store& store_;
  spooler_board& board_;
  std::size_t slot_;
  std::string dir_;
  spool_task_runner runner_;
  os::signal_source signals_;  // empty (never readable) when they cannot be watched
  dir_watch watch_;            // empty when the dir cannot be watched
  spool_share share_;
  spool_queue queue_;
  mono_clock::duration period_;
  mono_clock::time_point next_scan_;
  mono_clock::time_point next_look_;  // see run()
  bool looked_since_task_ = false;    // look() ran since the last task
  // Files the handler ignored: left alone until the next full scan, whatever event names them.
  std::unordered_set<std::string> ignored_;
  // Files another process held at this one's last claim of them, or found torn and young
  // (handle_watch_events).
  std::unordered_set<std::string> busy_;
  unsigned tasks_ = 0;
  bool fatal_ = false;
};

int spooler_process::run() {
  ignore_signals();
  open_watches();
  // The task log: tasks acknowledged but lost at a crash come back before the first scan.
  if (const std::string r = store_.recover(dir_); !r.empty()) os::log(runner_.prefix(), " ", r);
  runner_.defer_done(share_.count() == 1);
  runner_.recover_done();
  recover_crashed();
  full_scan();
  for (;;) {
    // While tasks run back to back, signals and new files are looked for once per look_every
    // (one poll(2) and one read of the events of that period), not once per task.
    if (mono_clock::now() >= next_look_ && !look(0)) return runner_.retire_done() ? 0 : 1;
    if (mono_clock::now() >= next_scan_) full_scan();
    if (fatal_) return 1;
    if (run_one()) {
      looked_since_task_ = false;
      if (fatal_) return 1;
      // A long backlog: the oldest done task is set aside after each task beyond done_high.
      if (runner_.done_waiting() > done_high &&
          !runner_.retire_done(runner_.done_waiting() - done_high))
        return 1;
      if (cfg_.max_tasks != 0 && tasks_ >= cfg_.max_tasks) {
        os::log(runner_.prefix(), " maximum number of tasks reached (", cfg_.max_tasks,
                "): recycling the spooler");
        return runner_.retire_done() ? 0 : 1;
      }
      continue;
    }
    // No task due: new files are looked for first (they run before), then the done ones are
    // set aside (runner_.retire_done: the pool's rename, the done record).
    if (runner_.done_waiting() != 0) {
      if (looked_since_task_ && !runner_.retire_done(done_chunk)) return 1;
      next_look_ = {};  // new files first, again after each chunk
      continue;
    }
    runner_.idle();
    if (!look(wait_ms())) return 0;
  }
}

void spooler_process::open_watches() {
  if (auto s = os::signal_source::open({SIGINT, SIGTERM, SIGQUIT, SIGUSR1}))
    signals_ = std::move(*s);
  else
    os::log(s.error().message());
  if (::chdir(dir_.c_str()) != 0)
    os::log(runner_.prefix(), " cannot chdir to ", dir_, ": ", std::strerror(errno));
  if (auto w = dir_watch::open(dir_))
    watch_ = std::move(*w);
  else
    os::log(runner_.prefix(), " cannot watch ", dir_, " (", w.error().code().message(),
            "): new tasks wait for the next scan");
}

// Stop signals end the process (after the task in progress: they wait while it runs);
// SIGUSR1 (sent by uWSGI's writers) rescans when no known task is due.
bool spooler_process::handle_signals() {
  bool wake = false;
  for (int signo : signals_.read_pending()) {
    if (signo != SIGUSR1) {
      os::log(runner_.prefix(), " SIG", ::sigabbrev_np(signo), " received: stopping");
      return false;
    }
    wake = true;
  }
  if (wake && !queue_.has_due(sys_clock::now())) full_scan();
  return true;
}

void spooler_process::handle_watch_events() {
  for (const dir_watch::event& e : watch_.read_events()) {
    switch (e.what) {
      case dir_watch::event::kind::task:
        // A file another process held at our last claim: its close events are mostly claim
        // attempts (ours or another spooler's, each opens it for writing), not a new task;
        // claiming again at each one ping-pongs between the spooler processes for as long as
        // the task runs (measured: 2 spooler processes, 3 to 5 times the CPU per task). So it
        // is tried again busy_retry later (a uWSGI writer's close waits that long too). The
        // same for a file found torn and young (after_claim_failure).
        if (e.closed && busy_.count(e.path)) {
          queue_.add(e.path, e.rank, sys_clock::now() + busy_retry);
          break;
        }
        // A new file (renamed into place): no stat for its due time, the claim reads it (a file
        // not due yet is queued again at its due time, and the claim's close event is answered
        // by add_file's stat). Another process's file waits steal_after; its owner's close after
        // running it (add_file: gone) drops it from this queue.
        if (!e.closed) {
          if (!ignored_.count(e.path)) enqueue(e.path, e.rank, sys_clock::now(), false);
          break;
        }
        add_file(e.path, e.rank);
        break;
      case dir_watch::event::kind::subdir: {
        watch_.watch_subdir(e.path, e.rank);
        scan_result found;  // files written before the watch was in place
        scan_files(e.path, e.rank, found);
        for (const scanned_file& f : found.files)
          if (!ignored_.count(f.path)) enqueue(f.path, f.rank, f.mtime);
        break;
      }
      case dir_watch::event::kind::overflow:
        full_scan();
        return;
    }
  }
}

void spooler_process::full_scan() {
  if (!runner_.retire_done()) fatal_ = true;  // before the scan: else it finds them again
  next_scan_ = mono_clock::now() + period_;
  scan_result found = scan_spool_dir(dir_);
  if (!found.error.empty()) os::log(runner_.prefix(), " ", found.error);
  for (const std::string& temp : found.removed_temps)
    os::log(runner_.prefix(), " removed ", temp, ": a temp file left by a writer killed mid-write");
  for (const scanned_dir& d : found.subdirs) watch_.watch_subdir(d.path, d.rank);
  queue_.clear();
  ignored_.clear();
  busy_.clear();
  for (const scanned_file& f : found.files) enqueue(f.path, f.rank, f.mtime);
}

void spooler_process::add_file(const std::string& path, std::uint64_t rank) {
  if (ignored_.count(path)) return;
  struct stat st = {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    // Done (its close after the unlink is the event): no claim to try. Another process's
    // finished task no longer waits in this queue for steal_after, to fail an open then.
    queue_.remove(path);
    return;
  }
  enqueue(path, rank, mtime_of(st));
}

// The task the previous process of this slot was running when it died counts as a failed
// attempt, unless its outcome was already recorded (gone, or dated in the future by a retry).
void spooler_process::recover_crashed() {
  const std::string path = board_.running(slot_);
  if (path.empty()) return;
  spool_claim c = claim_spool_file(path, dir_, sys_clock::now());
  if (c.status == claim_status::claimed) {
    os::log(runner_.prefix(), " task ", c.task.name,
            " was running when the previous spooler process died: counting a failed attempt");
    runner_.record_failure(c, "spooler crashed while running it");
  } else if (c.status == claim_status::corrupt) {
    runner_.quarantine(c);
  }
  board_.clear_running(slot_);
}

bool spooler_process::run_one() {
  for (;;) {
    const auto now = sys_clock::now();
    auto next = queue_.pop_due(now);
    if (!next) return false;
    const std::string& path = next->path;
    spool_claim c = claim_spool_file(path, dir_, now);
    if (c.status != claim_status::busy) busy_.erase(path);
    if (c.status != claim_status::claimed) {
      after_claim_failure(c);
      continue;
    }
    if (c.dated_ahead && runs_later(*next, c, now)) {
      enqueue(path, next->rank, c.mtime);  // its close event: add_file, the same mtime
      continue;
    }
    const auto r = runner_.run(c);
    switch (r.what) {
      case spool_task_runner::outcome::retry:
        enqueue(path, rank_of(path, dir_), r.due);
        break;
      case spool_task_runner::outcome::fatal:
        fatal_ = true;
        break;
      case spool_task_runner::outcome::ignored:
        ignored_.insert(path);
        break;
      default:
        break;
    }
    if (r.what != spool_task_runner::outcome::ignored) ++tasks_;
    return true;
  }
}

// A new file is queued at the time its event is read, without a stat: its mtime is no later
// unless it was dated ahead (`at`, a retry). Such a file read once due (its events read late:
// the process was descheduled or starting) would run before older files read in the same batch
// (the flaky at-tests). So the files queued at an estimate later than its mtime get their
// mtimes now (one stat each, once: they are exact afterwards), and it waits its turn.
bool spooler_process::runs_later(const spool_queue::popped& next, const spool_claim& c,
                                 sys_clock::time_point now) {
  const auto key = share_.take_at(next.path, c.mtime);
  for (const auto& [path, rank] : queue_.estimated_after(key, now)) add_file(path, rank);
  return queue_.ready_before(next.rank, key, next.path, now);
}

// gone / busy / failed: forgotten until an event or the next full scan brings it back.
void spooler_process::after_claim_failure(spool_claim& c) {
  switch (c.status) {
    case claim_status::not_due:
      enqueue(c.task.path, rank_of(c.task.path, dir_), c.due);
      // A young torn file is looked at again when its writer closes it, as a busy one: the
      // close event of this claim (it opened the file for writing) must not start a loop of
      // claims (measured: 72 of 100 ticks of a CPU for as long as the file stays torn).
      if (c.torn) busy_.insert(c.task.path);
      break;
    case claim_status::corrupt:
      runner_.quarantine(c);
      break;
    case claim_status::failed:
      os::log(runner_.prefix(), " ", c.why);
      break;
    case claim_status::busy:
      busy_.insert(c.task.path);
      break;
    default:
      break;
  }
}

int spooler_process::wait_ms() const {
  auto wait = next_scan_ - mono_clock::now();
  if (auto due = queue_.next_due())
    wait = std::min<mono_clock::duration>(wait, *due - sys_clock::now());
  return static_cast<int>(std::clamp<long long>(
      std::chrono::ceil<std::chrono::milliseconds>(wait).count(), 0, INT_MAX));
}

bool spooler_process::look(int timeout_ms) {
  pollfd ready[2] = {{signals_.fd(), POLLIN, 0}, {watch_.fd(), POLLIN, 0}};
  const int n = ::poll(ready, 2, timeout_ms);
  next_look_ = mono_clock::now() + look_every;
  looked_since_task_ = true;
  if (n == 0) return true;
  if (n < 0) ready[0].revents = ready[1].revents = POLLIN;  // EINTR or an error: read both
  if (ready[0].revents != 0 && !handle_signals()) return false;
  if (ready[1].revents != 0) handle_watch_events();
  return true;
}

}  // namespace

int run_spooler(const spooler_config& cfg, const spool_store& store, spooler_board& board,
                std::size_t slot, const spool_handler& handler) {
  spooler_process p(cfg, store, board, slot, handler);
  return p.run();
}

}  // namespace brood::spooler

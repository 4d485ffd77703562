#include "master_spoolers.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "brood/node/worker.hpp"
#include "brood/os/child_process.hpp"
#include "brood/os/log.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;

constexpr auto harakiri_period = 1s;
constexpr auto fork_retry = 1s;

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long long ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

master_spoolers::master_spoolers(const node_config& cfg, const node_hooks& hooks,
                                 os::event_loop& loop, os::signal_source& signals)
    : cfg_(cfg), hooks_(hooks), loop_(loop), signals_(signals) {}

master_spoolers::~master_spoolers() {
  kill_all_now();
  for (process& p : procs_) {
    while (p.pid > 0 && ::waitpid(p.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    p.pid = 0;
  }
  if (board_ && hooks_.spooler_board) hooks_.spooler_board(nullptr);
}

bool master_spoolers::start() {
  const spooler::spooler_config& sc = cfg_.spooler;
  if (sc.dirs.empty()) return true;
  std::vector<std::string> all = sc.dirs;
  all.insert(all.end(), sc.external_dirs.begin(), sc.external_dirs.end());
  std::vector<std::string> slot_dirs;
  try {
    store_ = std::make_unique<spooler::spool_store>(all);
    for (std::size_t d = 0; d < sc.dirs.size(); ++d)
      for (unsigned i = 0; i < std::max(1u, sc.processes); ++i)
        slot_dirs.push_back(store_->dirs()[d]);
    board_ = std::make_unique<spooler::spooler_board>(slot_dirs);
  } catch (const std::system_error& e) {
    os::log("cannot run the spooler: ", e.what());
    return false;
  }
  if (hooks_.spooler_board) hooks_.spooler_board(board_.get());
  procs_.resize(slot_dirs.size());
  for (std::size_t slot = 0; slot < procs_.size(); ++slot) spawn(slot, false);
  if (sc.harakiri.count() > 0) loop_.after(harakiri_period, [this] { on_harakiri_check(); });
  return true;
}

bool master_spoolers::on_exit(pid_t pid, int status) {
  const auto slot = slot_of(pid);
  if (!slot) return false;
  process& p = procs_[*slot];
  p.pid = 0;
  p.kill_at.reset();
  board_->set_pid(*slot, 0);
  // The harakiri deadline of a dead process must not kill its successor; the running path stays
  // for the successor's crash recovery.
  if (board_->harakiri_deadline(*slot) != 0) board_->set_running(*slot, board_->running(*slot), 0);
  if (stopping_) return true;
  if (p.restart_on_exit) {
    p.restart_on_exit = false;
    p.backoff.reset();
    spawn(*slot, false);
    return true;
  }
  os::log("spooler (pid: ", pid, ") on dir ", board_->dir(*slot), " ", os::describe_exit(status),
          ": respawning it");
  schedule_respawn(*slot, status);
  return true;
}

void master_spoolers::stop(clock::time_point deadline, bool restart) {
  if (!restart) stopping_ = true;
  for (std::size_t slot = 0; slot < procs_.size(); ++slot) {
    process& p = procs_[slot];
    if (!restart && p.respawn_timer) {
      loop_.cancel(p.respawn_timer);
      p.respawn_timer = 0;
    }
    if (p.pid <= 0) continue;
    p.restart_on_exit = restart;
    if (!p.kill_at || *p.kill_at > deadline) p.kill_at = deadline;
    ::kill(p.pid, SIGTERM);
  }
  arm_mercy_timer();
}

void master_spoolers::kill_all_now() {
  for (process& p : procs_)
    if (p.pid > 0) {
      ::kill(p.pid, SIGKILL);
      p.kill_at.reset();
    }
}

bool master_spoolers::none_alive() const noexcept {
  for (const process& p : procs_)
    if (p.pid > 0) return false;
  return true;
}

// ---- private -----------------------------------------------------------------------------

bool master_spoolers::spawn(std::size_t slot, bool respawn) {
  process& p = procs_[slot];
  if (hooks_.before_fork) hooks_.before_fork();
  const auto forked = os::fork_child([this, slot] { return body(slot); });
  if (hooks_.after_fork_parent) hooks_.after_fork_parent();
  if (!forked) {
    os::log("cannot fork the spooler on dir ", board_->dir(slot), ": ",
            forked.error().code().message(), "; retrying in ", ms(fork_retry), " ms");
    p.respawn_timer = loop_.after(fork_retry, [this, slot] { on_respawn_due(slot); });
    return false;
  }
  const pid_t pid = *forked;
  p.pid = pid;
  p.spawned = clock::now();
  p.harakiri_done = false;
  if (respawn) ++p.respawns;
  board_->set_pid(slot, pid);
  os::log(respawn ? "respawned" : "spawned", " the uWSGI spooler on dir ", board_->dir(slot),
          " with pid ", pid);
  return true;
}

// Runs in the forked child: drop what belongs to the master, then run tasks.
int master_spoolers::body(std::size_t slot) {
  signals_.release_in_child();
  os::set_log_role("spooler");
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) return 0;  // the master died before the death signal was armed
  if (hooks_.spooler_start && !hooks_.spooler_start(board_->dir(slot))) return failed_app_status;
  return spooler::run_spooler(cfg_.spooler, *store_, *board_, slot, hooks_.spooler);
}

// A clean exit (spooler-max-tasks) is respawned at once; deaths right after the spawn back off.
void master_spoolers::schedule_respawn(std::size_t slot, int status) {
  process& p = procs_[slot];
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (clean) p.backoff.reset();
  const auto delay = clean ? clock::duration::zero() : p.backoff.on_death(clock::now() - p.spawned);
  if (delay == clock::duration::zero()) {
    spawn(slot, true);
    return;
  }
  os::log("the spooler on dir ", board_->dir(slot),
          " keeps dying right after its spawn: respawning", " it in ", ms(delay), " ms");
  p.respawn_timer = loop_.after(delay, [this, slot] { on_respawn_due(slot); });
}

void master_spoolers::on_respawn_due(std::size_t slot) {
  procs_[slot].respawn_timer = 0;
  if (!stopping_ && procs_[slot].pid == 0) spawn(slot, true);
}

void master_spoolers::arm_mercy_timer() {
  if (mercy_timer_) loop_.cancel(mercy_timer_);
  mercy_timer_ = 0;
  std::optional<clock::time_point> first;
  for (const process& p : procs_)
    if (p.pid > 0 && p.kill_at && (!first || *p.kill_at < *first)) first = p.kill_at;
  if (first) mercy_timer_ = loop_.at(*first, [this] { on_mercy_due(); });
}

void master_spoolers::on_mercy_due() {
  mercy_timer_ = 0;
  const auto now = clock::now();
  for (process& p : procs_) {
    if (p.pid <= 0 || !p.kill_at || *p.kill_at > now) continue;
    os::log("spooler (pid: ", p.pid, ") is taking too much time to die...NO MERCY !!!");
    ::kill(p.pid, SIGKILL);
    p.kill_at.reset();
  }
  arm_mercy_timer();
}

void master_spoolers::on_harakiri_check() {
  const std::int64_t now = monotonic_ns();
  for (std::size_t slot = 0; slot < procs_.size(); ++slot) {
    process& p = procs_[slot];
    const std::int64_t deadline = board_->harakiri_deadline(slot);
    if (p.pid <= 0 || p.harakiri_done || deadline == 0 || deadline > now) continue;
    os::log("*** HARAKIRI ON THE SPOOLER (pid: ", p.pid, ") *** task ", board_->running(slot),
            " ran longer than ", cfg_.spooler.harakiri.count(), " seconds: killing it");
    ::kill(p.pid, SIGKILL);
    p.harakiri_done = true;
  }
  loop_.after(harakiri_period, [this] { on_harakiri_check(); });
}

std::optional<std::size_t> master_spoolers::slot_of(pid_t pid) const {
  for (std::size_t slot = 0; slot < procs_.size(); ++slot)
    if (procs_[slot].pid == pid) return slot;
  return std::nullopt;
}

}  // namespace brood::node

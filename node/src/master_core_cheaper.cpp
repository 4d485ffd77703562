// master_core: the cheaper subsystem: the periodic check, the pool snapshot, the RSS limits and
// the FIFO's +/- before the algorithm, and applying a decision (spawn into cheaped slots, cheap
// idle workers only).
#include <signal.h>

#include <algorithm>
#include <utility>

#include "brood/os/log.hpp"
#include "master_core.hpp"
#include "master_core_detail.hpp"

namespace brood::node {
namespace {

pool_slot slot_view(const process_pool::slot& slot, const scoreboard::slot& b) {
  if (slot.pid == 0) return slot.cheaped ? pool_slot::cheap : pool_slot::starting;
  if (b.pid.load() != slot.pid) return pool_slot::starting;
  switch (b.state.load()) {
    case slot_state::idle:
      return pool_slot::idle;
    case slot_state::busy:
      return pool_slot::busy;
    case slot_state::stopping:
      return pool_slot::stopping;
    default:
      return pool_slot::starting;
  }
}

}  // namespace

const char* master_core::cheaper_name() const noexcept {
  return algo_ ? to_string(algo_->kind()) : "";
}

// The periodic checks run when cheaper or idle needs them.
void master_core::start_cheaper(const moment& now) {
  if (algo_ || cfg_.idle.count() > 0 || sos_enabled()) check_at_ = now.mono + cfg_.check_interval;
  idle_since_ = now.mono;
}

void master_core::run_check(const moment& now) {
  check_idle(now);
  evaluate(now, true);
  check_sos(now);
}

void master_core::on_pressure(const moment& now) {
  if (algo_ && algo_->event_driven()) evaluate(now, false);
  check_sos(now);
}

void master_core::cheaper_delta(int delta, const moment& now) {
  if (!algo_) {
    os::log("master FIFO ", delta > 0 ? "+" : "-", " ignored: cheaper is off");
    return;
  }
  fifo_delta_ += delta;
  evaluate(now, false);
}

pool_snapshot master_core::snapshot(const moment& now) {
  pool_snapshot s;
  s.now = now.mono;
  s.now_us = now.wall_us;
  s.workers.reserve(workers_.size());
  const cheaper_config& c = cfg_.cheaper;
  const bool reads_rss = c.memory_report || c.rss_limit_soft > 0 || c.rss_limit_hard > 0;
  for (unsigned id = 1; id <= workers_.size(); ++id) {
    const process_pool::slot& slot = workers_.at(id - 1);
    const scoreboard::slot& b = board_.at(id);
    pool_worker w;
    w.id = id;
    w.state = slot_view(slot, b);
    w.running_us = b.running_us.load();
    w.request_start_us = b.request_start_us.load();
    w.requests = b.requests.load();
    if (reads_rss && slot.pid > 0) w.rss = launcher_.worker_rss(slot.pid);
    s.workers.push_back(w);
  }
  s.backlog = launcher_.listen_backlog();
  return s;
}

// One evaluation: `check` is a periodic check (every algorithm runs); otherwise a pressure
// event, a recheck or a FIFO command (only brood's algorithm, or the FIFO's delta, runs).
void master_core::evaluate(const moment& now, bool check) {
  if (!algo_ || stopping_ || sleeping_ || paused_ || chain_slot_) return;
  pool_snapshot snap = snapshot(now);
  std::uint64_t rss = 0;
  for (const pool_worker& w : snap.workers) rss += w.rss;
  const cheaper_config& c = cfg_.cheaper;
  cheaper_decision d;
  bool from_fifo = false;
  const bool over_hard = c.rss_limit_hard > 0 && rss >= c.rss_limit_hard && snap.active() > 1;
  if (over_hard) {
    d.workers = -1;
    d.why = "workers' RSS " + std::to_string(rss) + " >= cheaper-rss-limit-hard";
  } else {
    snap.can_spawn = !(c.rss_limit_soft > 0 && rss >= c.rss_limit_soft);
    if (fifo_delta_ != 0) {
      d.workers = snap.can_spawn || fifo_delta_ < 0 ? fifo_delta_ : 0;
      d.why = "master FIFO";
      fifo_delta_ = 0;
      from_fifo = true;
    } else if (check || algo_->event_driven()) {
      d = algo_->decide(snap);
      if (!snap.can_spawn && d.workers > 0) d.workers = 0;
    }
    recheck_at_ = algo_->event_driven() ? d.recheck_at : std::nullopt;
  }
  if (d.workers == 0) return;
  const unsigned floor = over_hard ? 1 : c.cheaper;  // the hard limit may go below cheaper
  const unsigned active = snap.active();
  unsigned done = 0;
  if (d.workers > 0) {
    done = spawn_cheaped(static_cast<unsigned>(d.workers), now);
  } else {
    const unsigned room = active > floor ? active - floor : 0;
    const unsigned want = std::min(static_cast<unsigned>(-d.workers), room);
    done = cheap_idle(want, now);
    // A FIFO '-' with no idle worker now is retried at the next evaluation.
    if (from_fifo && done < want) fifo_delta_ -= static_cast<int>(want - done);
  }
  if (done == 0) return;
  d.workers = d.workers > 0 ? static_cast<int>(done) : -static_cast<int>(done);
  last_decision_ = std::move(d);
  last_decision_wall_ = now.wall;
  os::log("cheaper (", cheaper_name(), "): ", last_decision_.workers > 0 ? "spawn " : "cheap ",
          done, last_decision_.why.empty() ? "" : ": ", last_decision_.why);
}

// Spawns up to `n` workers into the cheaped slots without a process, lowest id first.
unsigned master_core::spawn_cheaped(unsigned n, const moment& now) {
  unsigned done = 0;
  for (std::size_t i = 0; i < workers_.size() && done < n; ++i) {
    const process_pool::slot& slot = workers_.at(i);
    if (!slot.cheaped || slot.pid != 0) continue;
    workers_.set_cheaped(i, false);
    spawn_worker(static_cast<unsigned>(i + 1), false, now);
    ++done;
  }
  return done;
}

// `pid`, the current worker of its slot, is cheaped: SIGTERM (it stops accepting, finishes what
// it holds and exits; SIGKILL after reload-mercy), its slot is not respawned. Returns its id.
unsigned master_core::cheap_worker(pid_t pid, const moment& now) {
  const auto id = static_cast<unsigned>(workers_.find(pid)->slot + 1);
  workers_.cheap(pid, now.mono + cfg_.reload_mercy);
  board_.record_stopping(id, pid);
  launcher_.signal(pid, SIGTERM);
  return id;
}

// Cheaps up to `n` idle workers, the oldest spawn first: each stops accepting, finishes what it
// holds and exits (SIGTERM; SIGKILL after reload-mercy). A busy worker is never cheaped.
unsigned master_core::cheap_idle(unsigned n, const moment& now) {
  std::vector<std::pair<time_point, pid_t>> idle;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const pid_t pid = workers_.at(i).pid;
    const scoreboard::slot& b = board_.at(static_cast<unsigned>(i + 1));
    if (pid <= 0 || b.pid.load() != pid || b.state.load() != slot_state::idle) continue;
    idle.emplace_back(workers_.processes().at(pid).spawned, pid);
  }
  std::sort(idle.begin(), idle.end());
  unsigned done = 0;
  for (const auto& [spawned, pid] : idle) {
    if (done == n) break;
    const unsigned id = cheap_worker(pid, now);
    os::log("cheaper: worker ", id, " (pid: ", pid, ") stops");
    ++done;
  }
  return done;
}

}  // namespace brood::node

// master_core: worker lifetime (brood/node/lifetime_config.hpp): harakiri, max-worker-lifetime,
// evil-reload-on-rss/as, and the respawn of a recycled worker. One timer (lifetime_check_at_)
// runs every check: at least every second, and at the moment the earliest request seen in flight
// reaches harakiri or the earliest worker reaches its lifetime, so a stuck request is killed
// within harakiri seconds plus the master's tick latency.
#include <signal.h>

#include <algorithm>

#include "brood/os/log.hpp"
#include "master_core.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;

// The longest the lifetime check sleeps (it must see each new request before its harakiri).
constexpr std::chrono::steady_clock::duration lifetime_poll = 1s;
constexpr std::uint64_t megabyte = 1024 * 1024;

}  // namespace

void master_core::start_lifetime(const moment& now) {
  const lifetime_config& c = cfg_.lifetime;
  if (c.harakiri.count() == 0 && c.max_worker_lifetime.count() == 0 && !c.evil()) return;
  lifetime_check_at_ = now.mono + lifetime_poll;
  if (c.evil()) memory_check_at_ = now.mono + std::max<clock::duration>(c.mem_collector_freq, 1s);
}

void master_core::check_lifetime(const moment& now) {
  lifetime_check_at_.reset();
  if (stopping_) return;
  time_point next = now.mono + lifetime_poll;
  if (!paused_ && !sleeping_) {  // a paused worker's request does not run
    for (unsigned id = 1; id <= workers_.size(); ++id) {
      const pid_t pid = workers_.at(id - 1).pid;
      process_pool::process* p = pid > 0 ? workers_.find(pid) : nullptr;
      if (!p) continue;
      if (cfg_.lifetime.harakiri.count() > 0) check_stuck(id, pid, *p, now, next);
      if (cfg_.lifetime.max_worker_lifetime.count() > 0) check_age(id, pid, *p, now, next);
    }
  }
  if (memory_check_at_ && now.mono >= *memory_check_at_) {
    check_memory(now);
    memory_check_at_ = now.mono + std::max<clock::duration>(cfg_.lifetime.mem_collector_freq, 1s);
  }
  if (memory_check_at_) next = std::min(next, *memory_check_at_);
  lifetime_check_at_ = next;
}

// Harakiri: SIGKILL (once) to worker `id` when its request in flight started harakiri seconds
// ago or more; otherwise `next` is brought forward to that moment.
void master_core::check_stuck(unsigned id, pid_t pid, process_pool::process& p, const moment& now,
                              time_point& next) {
  scoreboard::slot& s = board_.at(id);
  if (p.killed_early || s.pid.load() != pid || s.in_request.load() <= 0) return;
  std::int64_t start_us = s.request_start_us.load();
  unsigned core = 0;  // with threads: the core whose request in flight is the oldest
  bool found = false;
  for (unsigned i = 0; cfg_.threads > 1 && i < std::min(cfg_.threads, max_cores); ++i) {
    const scoreboard::core& c = s.cores[i];
    const std::int64_t started = c.request_start_us.load();
    if (c.in_request.load() > 0 && (!found || started < start_us)) {
      start_us = started;
      core = i;
      found = true;
    }
  }
  const std::int64_t limit_us = cfg_.lifetime.harakiri.count() * 1000000;
  const std::int64_t ran_us = now.wall_us - start_us;
  if (ran_us < limit_us) {
    next = std::min(next, now.mono + std::chrono::microseconds(limit_us - ran_us));
    return;
  }
  os::log("*** HARAKIRI ON WORKER ", id, " (pid: ", pid, ", try: 1) ***");
  os::log("HARAKIRI !!! worker ", id, " status !!!");
  os::log("HARAKIRI [core ", core, "] ", load_summary(s), " since ", start_us / 1000000, " (",
          ran_us / 1000, " ms in one request, harakiri ", cfg_.lifetime.harakiri.count(), " s)");
  if (cfg_.lifetime.harakiri_verbose)
    os::log("HARAKIRI: worker ", id, " ", launcher_.stuck_details(pid));
  os::log("HARAKIRI !!! end of worker ", id, " status !!!");
  launcher_.signal(pid, SIGKILL);
  p.killed_early = true;
  s.harakiri_count.fetch_add(1);
}

// max-worker-lifetime (+ id * delta): the worker is told to stop (it finishes what it holds) and
// is respawned once it has exited.
void master_core::check_age(unsigned id, pid_t pid, const process_pool::process& p,
                            const moment& now, time_point& next) {
  if (p.retiring || p.killed_early) return;
  const lifetime_config& c = cfg_.lifetime;
  const auto limit = c.max_worker_lifetime + c.max_worker_lifetime_delta * id;
  if (now.mono - p.spawned < limit) {
    next = std::min(next, p.spawned + limit);
    return;
  }
  os::log("worker ", id, " lifetime reached, it was running for ",
          std::chrono::duration_cast<std::chrono::seconds>(now.mono - p.spawned).count(),
          " second(s)");
  replace_worker(id - 1, pid, recycle_reason::max_worker_lifetime, true, now);
}

// evil-reload-on-rss / -as: SIGKILL (once) to a worker above the limit.
void master_core::check_memory(const moment& /*now*/) {
  const lifetime_config& c = cfg_.lifetime;
  for (unsigned id = 1; id <= workers_.size(); ++id) {
    const pid_t pid = workers_.at(id - 1).pid;
    process_pool::process* p = pid > 0 ? workers_.find(pid) : nullptr;
    if (!p || p->killed_early) continue;
    recycle_reason why = recycle_reason::none;
    std::uint64_t used = 0, limit = 0;
    if (c.evil_reload_on_rss > 0 && (used = launcher_.worker_rss(pid)) > c.evil_reload_on_rss) {
      why = recycle_reason::evil_reload_on_rss;
      limit = c.evil_reload_on_rss;
    } else if (c.evil_reload_on_as > 0 &&
               (used = launcher_.worker_vsz(pid)) > c.evil_reload_on_as) {
      why = recycle_reason::evil_reload_on_as;
      limit = c.evil_reload_on_as;
    }
    if (why == recycle_reason::none) continue;
    os::log("*** EVIL RELOAD ON WORKER ", id, " ",
            why == recycle_reason::evil_reload_on_rss ? "RSS" : "ADDRESS SPACE", ": ",
            used / megabyte, " MB above ", to_string(why), " ", limit / megabyte, " MB (pid: ", pid,
            ") ***");
    scoreboard::slot& s = board_.at(id);
    if (s.pid.load() == pid) s.recycle.store(why);
    launcher_.signal(pid, SIGKILL);
    p->killed_early = true;
  }
}

// Workers that announced their own recycle are replaced now, while they finish what they hold.
void master_core::on_recycling(const moment& now) {
  if (stopping_ || sleeping_) return;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const pid_t pid = workers_.at(i).pid;
    const process_pool::process* p = pid > 0 ? workers_.find(pid) : nullptr;
    if (!p || p->retiring || p->killed_early) continue;
    const scoreboard::slot& s = board_.at(static_cast<unsigned>(i + 1));
    const recycle_reason why = s.pid.load() == pid ? s.recycle.load() : recycle_reason::none;
    if (why != recycle_reason::none) replace_worker(i, pid, why, false, now);
  }
}

// The successor of `old` (the current worker of `slot`) is spawned now; `old` retires
// (`signal_it`: SIGTERM; a worker that recycles itself is stopping already) and its exit
// respawns nothing. SIGKILL after reload-mercy at the latest.
void master_core::replace_worker(std::size_t slot, pid_t old, recycle_reason why, bool signal_it,
                                 const moment& now) {
  const auto id = static_cast<unsigned>(slot + 1);
  os::log("worker ", id, " (pid: ", old, ") recycled (", to_string(why), "): respawning it");
  workers_.tell_to_stop(old, now.mono + cfg_.reload_mercy, false);
  workers_.find(old)->recycled = true;
  workers_.detach(slot);
  spawn_worker(id, true, now);  // the slot is the successor's from now on
  if (signal_it) launcher_.signal(old, SIGTERM);
}

// A worker that recycled (or was recycled) and exited before its successor was spawned is
// replaced at once: no crash-loop backoff.
void master_core::worker_recycled(pid_t pid, const process_pool::exit_info& e, recycle_reason why,
                                  const moment& now) {
  const auto id = static_cast<unsigned>(e.slot + 1);
  os::log("worker ", id, " (pid: ", pid, ") recycled (", to_string(why), "): respawning it");
  workers_.reset_backoff(e.slot);
  spawn_worker(id, true, now);
}

}  // namespace brood::node

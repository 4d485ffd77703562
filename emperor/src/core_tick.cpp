// emperor_core: deadlines (next_deadline() says when): SIGKILL of cursed vassals after the
// curse tolerance (or mercy), SIGKILL of vassals silent past emperor-required-heartbeat, and
// the start of throttled vassals.
#include <signal.h>

#include <string>

#include "brood/emperor/core.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {
namespace {

// A cursed process still alive at its deadline gets SIGKILL (again every tolerance period
// until it is reaped).
void kill_if_cursed_too_long(vassal& v, std::chrono::seconds tolerance, const moment& now) {
  if (!v.process || v.cursed == 0 || now.mono < v.kill_at) return;
  os::log("vassal ", v.file.name, " (pid ", v.process->pid(),
          "): still alive after being told to stop, SIGKILL");
  v.process->signal(SIGKILL);
  v.kill_at = now.mono + tolerance;
}

void kill_if_silent(vassal& v, std::chrono::seconds required, const moment& now) {
  if (!v.process || v.last_heartbeat == 0 || now.mono < v.heartbeat_due) return;
  os::log("vassal ", v.file.name, " (pid ", v.process->pid(), "): no heartbeat for ",
          required.count(), " s, SIGKILL");
  v.process->signal(SIGKILL);
  v.last_heartbeat = 0;  // enforced again only after a new heartbeat
}

}  // namespace

void emperor_core::on_tick(const moment& now) {
  const auto tolerance = stopping_all_ ? cfg_.mercy : cfg_.curse_tolerance;
  for (auto& [name, v] : vassals_) {
    kill_if_cursed_too_long(v, tolerance, now);
    kill_if_silent(v, cfg_.required_heartbeat, now);
    if (!stopping_all_ && !v.process && v.state == vassal_state::respawn &&
        now.mono >= v.respawn_at) {
      start(v, now);
    }
    if (!stopping_all_ && v.state == vassal_state::waiting && now.mono >= v.wait_until) {
      v.fallback =
          "fork base not ready after " + std::to_string(cfg_.fork_base_wait.count()) + " ms";
      ++fallbacks_;
      os::log("vassal ", name, ": ", v.fallback, "; exec'd instead");
      spawn_as(v, now, spawn_mode::no_wait);
    }
  }
  for (auto& [name, v] : vassals_) {
    if (!v.successor || now.mono < v.successor_due) continue;
    os::log("vassal ", name, ": the re-forked pid ", v.successor->pid(), " is not ready after ",
            cfg_.refork_ready.count(), " ms, SIGKILL; the old process keeps serving");
    v.successor->signal(SIGKILL);
    v.successor_due = now.mono + tolerance;
  }
  for (auto& [pid, r] : retired_) {
    if (now.mono < r.kill_at) continue;
    os::log("vassal ", r.name, " (pid ", pid, "): retired and still alive, SIGKILL");
    r.process->signal(SIGKILL);
    r.kill_at = now.mono + tolerance;
  }
}

}  // namespace brood::emperor

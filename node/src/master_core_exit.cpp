// master_core: a reaped worker or spooler process; respawns with the crash-loop backoff.
#include <sys/wait.h>

#include "brood/os/child_process.hpp"
#include "brood/os/log.hpp"
#include "master_core.hpp"
#include "master_core_detail.hpp"

namespace brood::node {

bool master_core::on_exit(pid_t pid, int wait_status, const moment& now) {
  if (const auto e = workers_.exited(pid)) {
    worker_exited(pid, *e, wait_status, now);
    return true;
  }
  if (const auto e = spoolers_.exited(pid)) {
    spooler_exited(pid, *e, wait_status, now);
    return true;
  }
  return false;
}

// A retiring worker completes a reload when it was the last of its generation; any other is
// respawned (unless the node is stopping).
void master_core::worker_exited(pid_t pid, const process_pool::exit_info& e, int status,
                                const moment& now) {
  const unsigned id = static_cast<unsigned>(e.slot + 1);
  const scoreboard::slot& s = board_.at(id);
  const recycle_reason why = s.pid.load() == pid ? s.recycle.load() : recycle_reason::none;
  board_.record_exit(id, pid);
  if (e.was.cheaped) {  // its slot was cheaped: not respawned
    if (workers_.at(e.slot).cheaped && workers_.at(e.slot).pid == 0) board_.record_cheap(id);
    return;
  }
  if (why != recycle_reason::none && e.current && !stopping_) {
    worker_recycled(pid, e, why, now);
    return;
  }
  if (e.was.recycled) {  // its successor runs already
    os::log("worker ", id, " killed successfully (pid: ", pid, ")");
    return;
  }
  if (e.was.retiring) {
    if (!workers_.any_retiring() && !stopping_) reload_completed();
    return;
  }
  if (stopping_) return;
  if (!e.current) {  // replaced already (a chain reload): its successor serves the slot
    os::log("worker ", id, " (pid: ", pid, ") ", os::describe_exit(status), " while replaced");
    return;
  }
  os::log("DAMN ! worker ", id, " (pid: ", pid, ") ", os::describe_exit(status),
          " :( trying respawn ...");
  const auto delay = workers_.on_death(e.slot, now.mono - e.was.spawned, false);
  if (delay == clock::duration::zero()) {
    spawn_worker(id, true, now);
    return;
  }
  os::log("worker ", id, " keeps dying right after its spawn: respawning it in ", detail::ms(delay),
          " ms");
  workers_.respawn_at(e.slot, now.mono + delay);
}

// A spooler process told to stop by a reload is spawned again at once; one that died is
// respawned (at once after a clean exit, spooler-max-tasks; deaths right after the spawn back
// off); none while stopping.
void master_core::spooler_exited(pid_t pid, const process_pool::exit_info& e, int status,
                                 const moment& now) {
  launcher_.spooler_exited(e.slot);
  if (stopping_) return;
  if (e.was.restart_on_exit) {
    spoolers_.reset_backoff(e.slot);
    spawn_spooler(e.slot, false, now);
    return;
  }
  os::log("spooler (pid: ", pid, ") on dir ", launcher_.spooler_dir(e.slot), " ",
          os::describe_exit(status), ": respawning it");
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  const auto delay = spoolers_.on_death(e.slot, now.mono - e.was.spawned, clean);
  if (delay == clock::duration::zero()) {
    spawn_spooler(e.slot, true, now);
    return;
  }
  os::log("the spooler on dir ", launcher_.spooler_dir(e.slot),
          " keeps dying right after its spawn: respawning", " it in ", detail::ms(delay), " ms");
  spoolers_.respawn_at(e.slot, now.mono + delay);
}

}  // namespace brood::node

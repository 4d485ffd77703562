// emperor_core: a reaped vassal process. What follows depends on the record's state: the record
// goes (stopping), the vassal waits for a connection again (returning), stays down (exiled),
// starts again (respawn) or, for an unexpected exit (running), is exiled, respawned or throttled.
#include <sys/wait.h>

#include <string>

#include "brood/emperor/core.hpp"
#include "brood/os/child_process.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {
namespace {

// The exit status a vassal uses to say "do not respawn me" (uWSGI's EXILE; also exec failure).
constexpr int exile_status = 26;

bool exiled_by(int wait_status) {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == exile_status;
}

}  // namespace

void emperor_core::on_exit(pid_t pid, int wait_status, const moment& now) {
  if (on_retired_exit(pid, wait_status)) return;
  vassal* found = by_pid(pid);
  pids_.erase(pid);
  if (!found) return;  // not a vassal (or already forgotten)
  vassal& v = *found;
  if (on_successor_exit(v, pid, now)) return;
  drop_successor(v, "the old process exited", now);
  v.process.reset();
  const std::string how = os::describe_exit(wait_status);
  switch (v.state) {
    case vassal_state::stopping:
      os::log("vassal ", v.file.name, " (pid ", pid, "): stopped, ", how);
      forget(vassals_.find(v.file.name));
      return;
    case vassal_state::returning:
      os::log("vassal ", v.file.name, " (pid ", pid, "): idle, ", how);
      start(v, now);
      return;
    case vassal_state::exiled:
      os::log("vassal ", v.file.name, " (pid ", pid, "): ", how, "; down until its file changes");
      return;
    case vassal_state::respawn:
      os::log("vassal ", v.file.name, " (pid ", pid, "): ", how, "; restarting");
      if (v.respawn_at <= now.mono) start(v, now);
      return;
    case vassal_state::running:
    case vassal_state::on_demand:
      after_unexpected_exit(v, wait_status, now);
      return;
    case vassal_state::waiting:  // no process of its own while it waits for its fork base
      return;
  }
}

// Status 26 exiles; an on-demand vassal waits for a connection again; a loyal vassal (or any
// with emperor-no-blacklist) is respawned at once; any other is throttled.
void emperor_core::after_unexpected_exit(vassal& v, int wait_status, const moment& now) {
  const std::string& name = v.file.name;
  os::log("vassal ", name, ": died, ", os::describe_exit(wait_status));
  if (exiled_by(wait_status) && !v.zerg_of.empty()) {
    os::log("zerg ", name, ": exiled (status ", exile_status, "), removed");
    forget(vassals_.find(name));
    return;
  }
  if (exiled_by(wait_status)) {
    v.state = vassal_state::exiled;
    os::log("vassal ", name, ": exiled (status ", exile_status,
            "), not respawned until its file changes");
    return;
  }
  if (!v.file.on_demand.empty()) {
    start(v, now);
  } else if (v.loyal || cfg_.no_blacklist) {
    os::log("vassal ", name, ": respawning now", v.loyal ? " (it was loyal)" : "");
    spawn(v, now);
  } else {
    throttle(v, "died before it was loyal", now);
  }
}

}  // namespace brood::emperor

// emperor_core: what a monitor scan found (added, changed and removed vassal files).
#include <signal.h>

#include "brood/emperor/core.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {

void emperor_core::on_scan(const scan_changes& changes, const moment& now) {
  for (const auto& name : changes.removed) {
    remove(name, now);
    stop_zergs(name, now);
  }
  if (stopping_all_) return;  // Ragnarok: nothing new starts
  // Fork bases first: vassals adopted from them then wait for them instead of being exec'd.
  for (const auto& f : changes.added)
    if (is_fork_base(f.name)) add(f, now);
  for (const auto& f : changes.added)
    if (!is_fork_base(f.name)) add(f, now);
  for (const auto& f : changes.changed) {
    change(f, now);
    reload_zergs(f, now);
  }
}

// A new vassal file starts its vassal. A record still there is a vassal whose file was removed
// and is back before the old process exited: it starts again once that process is gone.
void emperor_core::add(const vassal_file& f, const moment& now) {
  const auto found = vassals_.find(f.name);
  if (found != vassals_.end()) {
    vassal& v = found->second;
    if (v.process && v.state == vassal_state::stopping) {
      v.file = f;
      v.state = vassal_state::respawn;
      v.respawn_at = now.mono;
      os::log("vassal ", f.name, ": file is back, restarting once the old process exits");
      return;
    }
    change(f, now);
    return;
  }
  vassal& v = vassals_[f.name];
  v.file = f;
  v.fork_base = is_fork_base(f.name);
  os::log("vassal ", f.name, ": found ", f.path, " (", f.monitor, ")");
  start(v, now);
}

// A changed vassal file: a running vassal is reloaded (byte 1), or stopped and started again
// when it moved in or out of on-demand mode; a throttled or exiled one starts now; a waiting
// on-demand one rebinds when its socket address changed.
void emperor_core::change(const vassal_file& f, const moment& now) {
  const auto found = vassals_.find(f.name);
  if (found == vassals_.end()) {
    add(f, now);
    return;
  }
  vassal& v = found->second;
  const bool mode_changed = v.file.on_demand != f.on_demand;
  v.file = f;
  switch (v.state) {
    case vassal_state::running:
      if (v.fork_base) {  // new code: a new base process imports it, then the re-fork
        restart_base(v, "file changed", now);
        return;
      }
      if (mode_changed) {
        os::log("vassal ", f.name, ": on-demand socket changed to \"", f.on_demand, "\"");
        tell_to_stop(v, vassal_state::respawn, now);
        v.respawn_at = now.mono;
        return;
      }
      os::log("vassal ", f.name, " (pid ", v.process->pid(), "): file changed, reload ",
              v.process->send(wire::emperor_command::reload) ? "sent" : "not sent");
      return;
    case vassal_state::respawn:
    case vassal_state::exiled:
      os::log("vassal ", f.name, ": file changed, restarting now");
      v.state = vassal_state::respawn;
      v.respawn_at = now.mono;
      if (!v.process) start(v, now);  // else: once the stopping process has exited
      return;
    case vassal_state::on_demand:
      if (mode_changed) start(v, now);
      return;
    case vassal_state::stopping:
    case vassal_state::returning:
    case vassal_state::waiting:
      return;  // the exit handler (or the wait's end) uses the new file
  }
}

// A removed vassal file stops its vassal; the record goes once no process is left.
void emperor_core::remove(const std::string& name, const moment& now) {
  const auto found = vassals_.find(name);
  if (found == vassals_.end()) return;
  vassal& v = found->second;
  if (!v.process) {
    os::log("vassal ", name, ": file removed");
    forget(found);
    return;
  }
  os::log("vassal ", name, " (pid ", v.process->pid(), "): file removed, stopping");
  tell_to_stop(v, vassal_state::stopping, now);
}

// A fenced placement: the vassal may not run one moment longer.
void emperor_core::kill_now(const std::string& name, const moment& now) {
  const auto found = vassals_.find(name);
  if (found == vassals_.end()) return;
  vassal& v = found->second;
  if (!v.process) {
    os::log("vassal ", name, ": killed (no process)");
    forget(found);
    return;
  }
  drop_successor(v, "the vassal is killed", now);
  v.state = vassal_state::stopping;
  if (v.cursed == 0) v.cursed = now.wall;
  v.kill_at = now.mono;
  v.process->signal(SIGKILL);
  os::log("vassal ", name, " (pid ", v.process->pid(), "): SIGKILL (fenced: no placement lease)");
}

}  // namespace brood::emperor

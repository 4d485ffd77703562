// emperor_core: what arrives from the vassals: control channel bytes (docs/protocol.md §11), a
// channel's EOF, and the first connection on an on-demand socket.
#include <signal.h>

#include "brood/emperor/core.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {
namespace {

using wire::vassal_message;

void on_ready(vassal& v, const moment& now) {
  v.ready = true;
  v.last_ready = now.wall;
  os::log("vassal ", v.file.name, " (pid ", v.process->pid(), "): ready");
}

void on_accepting(vassal& v, const moment& now) {
  v.accepting = true;
  v.last_accepting = now.wall;
}

// From the first heartbeat on, a silence longer than emperor-required-heartbeat gets SIGKILL.
void on_heartbeat(vassal& v, std::chrono::seconds required, const moment& now) {
  if (v.last_heartbeat == 0) {
    os::log("vassal ", v.file.name, " (pid ", v.process->pid(),
            "): first heartbeat, SIGKILL after ", required.count(), " s of silence");
  }
  v.last_heartbeat = now.wall;
  v.heartbeat_due = now.mono + required;
}

}  // namespace

void emperor_core::on_message(pid_t pid, std::uint8_t byte, const moment& now) {
  vassal* v = by_pid(pid);
  if (!v) return;
  if (on_successor_message(*v, pid, byte, now)) return;
  switch (static_cast<wire::vassal_message>(byte)) {
    case wire::vassal_message::ready:
      on_ready(*v, now);
      if (v->fork_base) on_base_ready(*v, now);
      return;
    case wire::vassal_message::accepting:
      on_accepting(*v, now);
      return;
    case wire::vassal_message::heartbeat:
      on_heartbeat(*v, cfg_.required_heartbeat, now);
      return;
    case wire::vassal_message::loyal:
      v->loyal = true;
      v->last_loyal = now.wall;
      if (blacklist_.erase(v->file.name) != 0) os::log("vassal ", v->file.name, ": unblacklisted");
      os::log("vassal ", v->file.name, " (pid ", pid, "): loyal");
      return;
    case wire::vassal_message::idle:
      on_idle(*v, now);
      return;
    case wire::vassal_message::sos:
      on_sos(*v, now);
      return;
    case wire::vassal_message::config_request:
      os::log("vassal ", v->file.name, " (pid ", pid, "): message ", static_cast<int>(byte),
              " ignored (no pushed config)");
      return;
  }
  os::log("vassal ", v->file.name, " (pid ", pid, "): unknown message ", static_cast<int>(byte));
}

// 22 (die-on-idle) from a running process: an on-demand vassal goes back to waiting for a
// connection, a zerg stops and its record goes, any other vassal stays down until its file
// changes.
void emperor_core::on_idle(vassal& v, const moment& now) {
  if (v.state != vassal_state::running) return;
  const bool zerg = !v.zerg_of.empty();
  const bool on_demand = !v.file.on_demand.empty();
  os::log("vassal ", v.file.name, " (pid ", v.process->pid(), "): idle, ",
          zerg        ? "stopping the zerg (not respawned)"
          : on_demand ? "back to on-demand"
                      : "stopping until its file changes");
  tell_to_stop(v,
               zerg        ? vassal_state::stopping
               : on_demand ? vassal_state::returning
                           : vassal_state::exiled,
               now);
}

// The vassal's channel is gone while its process lives: SIGKILL after emperor-curse-tolerance
// unless it exits first. Its state stays (the exit is handled as if it were not cursed).
void emperor_core::on_channel_closed(pid_t pid, const moment& now) {
  vassal* v = by_pid(pid);
  if (v && v->successor && v->successor->pid() == pid) {
    os::log("vassal ", v->file.name, ": the re-forked pid ", pid, " closed its channel, SIGKILL");
    v->successor->signal(SIGKILL);
    return;
  }
  if (!v || v->cursed != 0) return;
  v->cursed = now.wall;
  v->kill_at = now.mono + (stopping_all_ ? cfg_.mercy : cfg_.curse_tolerance);
  os::log("vassal ", v->file.name, " (pid ", pid, "): channel closed, SIGKILL in ",
          (v->kill_at - now.mono) / std::chrono::seconds(1), " s unless it exits");
}

void emperor_core::on_demand_connection(const std::string& name, const moment& now) {
  const auto found = vassals_.find(name);
  if (stopping_all_ || found == vassals_.end()) return;
  vassal& v = found->second;
  if (v.state != vassal_state::on_demand || v.process || !v.socket) return;
  v.socket->arm(false);
  os::log("vassal ", name, ": connection on ", v.socket->address());
  spawn(v, now);
}

}  // namespace brood::emperor

// emperor_core: starting a vassal's process, waiting on its on-demand socket, and the crash-loop
// throttle (the blacklist).
#include <algorithm>

#include "brood/emperor/core.hpp"
#include "brood/emperor/vassal_command.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {
namespace {

// Forgets everything about the previous process of `v` (a new one starts).
void reset_state(vassal& v) {
  v.ready = v.accepting = v.loyal = false;
  v.last_heartbeat = 0;
  v.cursed = 0;
  v.sos_refused.clear();
}

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

// A vassal (or zerg: its file is its base's) found by the monitor of the legion's shared
// directory (emperor = legion:NAME,DIR), which names that directory as its source.
bool placed_by_legion(const emperor_config& cfg, const vassal& v) {
  return !cfg.placement.legion.empty() && v.file.monitor == cfg.placement.dir;
}

}  // namespace

void reset_process_state(vassal& v) { reset_state(v); }

void emperor_core::start(vassal& v, const moment& now) {
  if (v.file.on_demand.empty()) {
    v.socket.reset();
    spawn(v, now);
    return;
  }
  if (!v.socket || v.socket->address() != v.file.on_demand) {
    v.socket.reset();  // closes (and unlinks) the old one before binding the new address
    std::error_code ec;
    v.socket = launcher_.listen(v.file.name, v.file.on_demand, ec);
    if (!v.socket) {
      throttle(v, "cannot bind on-demand socket " + v.file.on_demand + ": " + ec.message(), now);
      return;
    }
  }
  reset_process_state(v);
  v.state = vassal_state::on_demand;
  v.socket->arm(true);
  os::log("vassal ", v.file.name, ": on demand, waiting for a connection on ", v.socket->address());
}

launch_spec emperor_core::command_of(const vassal& v) const {
  launch_spec spec = v.zerg_of.empty()
                         ? vassal_command(cfg_, v.file, self_exe_, environment_)
                         : zerg_command(cfg_, v.file, v.zerg_number, self_exe_, environment_);
  if (v.socket) spec.stdin_fd = v.socket->fd();
  if (placed_by_legion(cfg_, v)) spec.nice = cfg_.legion.vassal_nice;
  return spec;
}

// Launches the vassal's process now (stdin = the on-demand socket when it has one): adopted from
// its fork server when it has one (after waiting for a starting base, unless `mode` says not to),
// exec'd otherwise or when the adoption fails. A launch failure is throttled like a crash.
void emperor_core::spawn_as(vassal& v, const moment& now, spawn_mode mode) {
  v.fork_server = fork_server_of(v);
  if (!v.fork_server.empty() && mode == spawn_mode::normal) {
    if (const vassal* base = starting_base(v.fork_server)) {
      v.state = vassal_state::waiting;
      v.wait_until = now.mono + cfg_.fork_base_wait;
      os::log("vassal ", v.file.name, ": waiting for its fork base ", base->file.name,
              " to be ready (at most ", cfg_.fork_base_wait.count(), " ms)");
      return;
    }
  }
  const launch_spec spec = command_of(v);
  v.adopted = false;
  const auto hung = hung_until_.find(v.fork_server);
  if (hung != hung_until_.end() && now.mono < hung->second && mode == spawn_mode::normal) {
    v.fallback = "fork server " + v.fork_server + " timed out recently";
    ++fallbacks_;
    os::log("vassal ", v.file.name, ": ", v.fallback, "; exec'd instead");
  } else if (!v.fork_server.empty() && mode == spawn_mode::normal) {
    adopt_result r = launcher_.adopt(spec, v.fork_server, {});
    if (r.timed_out) hung_until_[v.fork_server] = now.mono + cfg_.hung_fork_server;
    if (r.process) {
      v.process = std::move(r.process);
      v.adopted = true;
      v.fallback.clear();
      ++adoptions_;
    } else {
      v.fallback = r.error.empty() ? "adoption failed" : r.error;
      ++fallbacks_;
      os::log("vassal ", v.file.name, ": fork server ", v.fork_server, ": ", v.fallback,
              "; exec'd instead");
    }
  }
  if (!v.process) {
    std::error_code ec;
    v.process = launcher_.launch(spec, ec);
    if (!v.process) {
      throttle(v, "cannot start: " + ec.message(), now);
      return;
    }
  }
  pids_[v.process->pid()] = v.file.name;
  reset_process_state(v);
  if (v.born == 0) {
    v.born = now.wall;
  } else {
    ++v.respawns;
  }
  v.last_run = now.wall;
  v.spawned_at = now.mono;
  v.state = vassal_state::running;
  os::log("vassal ", v.file.name, ": ", v.adopted ? "adopted from " + v.fork_server : "spawned",
          " (pid ", v.process->pid(), ")");
}

// Blacklists `v` (one more attempt: emperor-throttle after the first death, doubling up to
// emperor-max-throttle) and schedules its next start. Used for exits of never-loyal vassals and
// for failures to start (those are throttled even with emperor-no-blacklist, or they would spin).
void emperor_core::throttle(vassal& v, const std::string& why, const moment& now) {
  blacklist_entry& b = blacklist_[v.file.name];
  b.name = v.file.name;
  ++b.attempts;
  b.throttle = std::min(b.attempts == 1 ? cfg_.throttle : b.throttle * 2, cfg_.max_throttle);
  if (b.first_attempt == 0) b.first_attempt = now.wall;
  b.last_attempt = now.wall;
  v.state = vassal_state::respawn;
  v.respawn_at = now.mono + b.throttle;
  os::log("vassal ", v.file.name, ": ", why, "; throttled: attempt ", b.attempts, ", respawn in ",
          seconds(b.throttle), " s");
}

}  // namespace brood::emperor

// emperor_core: construction, the whole-emperor events (stop_all, reload_all, SIGURG), the
// stop command, deadlines and the USR1 description. The other events are in core_*.cpp.
#include "brood/emperor/core.hpp"

#include <algorithm>
#include <sstream>
#include <utility>

#include "brood/os/log.hpp"

namespace brood::emperor {

emperor_core::emperor_core(emperor_config cfg, process_launcher& launcher, std::string self_exe,
                           std::vector<std::string> environment)
    : cfg_(std::move(cfg)),
      launcher_(launcher),
      self_exe_(std::move(self_exe)),
      environment_(std::move(environment)) {}

vassal* emperor_core::by_pid(pid_t pid) {
  const auto p = pids_.find(pid);
  if (p == pids_.end()) return nullptr;
  const auto v = vassals_.find(p->second);
  return v == vassals_.end() ? nullptr : &v->second;
}

// Sends the stop byte (0; 2 with emperor-graceful-shutdown; always 0 when going back to
// on-demand) once per process and arms the SIGKILL deadline: emperor-curse-tolerance, or
// `mercy` during stop_all. `next` says what happens after the exit. REQUIRES: v.process.
void emperor_core::tell_to_stop(vassal& v, vassal_state next, const moment& now) {
  drop_successor(v, "the vassal stops", now);
  v.state = next;
  const auto tolerance = stopping_all_ ? cfg_.mercy : cfg_.curse_tolerance;
  if (v.cursed != 0) {  // already told (or its channel closed): only shorten the deadline
    v.kill_at = std::min(v.kill_at, now.mono + tolerance);
    return;
  }
  const auto command = next == vassal_state::returning || !cfg_.graceful_shutdown
                           ? wire::emperor_command::stop
                           : wire::emperor_command::stop_gracefully;
  const bool sent = v.process->send(command);
  v.cursed = now.wall;
  v.kill_at = now.mono + tolerance;
  os::log("vassal ", v.file.name, " (pid ", v.process->pid(), "): stop (",
          static_cast<int>(wire::to_byte(command)), ") ", sent ? "sent" : "not sent",
          ", SIGKILL in ", tolerance.count(), " s unless it exits");
}

std::map<std::string, vassal>::iterator emperor_core::forget(
    std::map<std::string, vassal>::iterator it) {
  if (!it->second.zerg_of.empty()) {
    blacklist_.erase(it->first);
    const auto next = vassals_.erase(it);
    os::log("zergs: ", zerg_count(), " of ", cfg_.broodlord);
    return next;
  }
  return vassals_.erase(it);
}

void emperor_core::stop_all(const moment& now) {
  if (!stopping_all_) os::log("stopping every vassal (Ragnarok), mercy ", cfg_.mercy.count(), " s");
  stopping_all_ = true;
  refork_queue_.clear();
  for (auto& [pid, r] : retired_) r.kill_at = std::min(r.kill_at, now.mono + cfg_.mercy);
  for (auto it = vassals_.begin(); it != vassals_.end();) {
    if (it->second.process) {
      tell_to_stop(it->second, vassal_state::stopping, now);
      ++it;
    } else {
      it = forget(it);  // no process: nothing to wait for (closes an on-demand socket)
    }
  }
}

void emperor_core::reload_all(const moment& now) {
  for (auto& [name, v] : vassals_) {
    if (!v.process || v.state != vassal_state::running) continue;
    if (v.fork_base) {
      restart_base(v, "reload", now);
      continue;
    }
    const bool sent = v.process->send(wire::emperor_command::reload);
    os::log("vassal ", name, " (pid ", v.process->pid(), "): reload ", sent ? "sent" : "not sent");
  }
}

void emperor_core::clear_blacklist() {
  os::log("blacklist cleared (", blacklist_.size(), " entries)");
  blacklist_.clear();
}

std::optional<std::chrono::steady_clock::time_point> emperor_core::next_deadline() const {
  std::optional<std::chrono::steady_clock::time_point> next;
  const auto consider = [&next](std::chrono::steady_clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [name, v] : vassals_) {
    if (v.process && v.cursed != 0) consider(v.kill_at);
    if (v.process && v.last_heartbeat != 0) consider(v.heartbeat_due);
    if (!v.process && v.state == vassal_state::respawn && !stopping_all_) consider(v.respawn_at);
    if (v.state == vassal_state::waiting && !stopping_all_) consider(v.wait_until);
    if (v.successor) consider(v.successor_due);
  }
  for (const auto& [pid, r] : retired_) consider(r.kill_at);
  return next;
}

std::string emperor_core::describe() const {
  std::ostringstream s;
  for (const auto& [name, v] : vassals_) {
    s << name << ' ' << to_string(v.state) << " pid " << (v.process ? v.process->pid() : -1)
      << (v.ready ? " ready" : "") << (v.loyal ? " loyal" : "") << " respawns " << v.respawns;
    if (v.adopted) s << " adopted from " << v.fork_server;
    if (v.fork_base) s << " fork base";
    if (v.successor) s << " re-forking as pid " << v.successor->pid();
    if (!v.zerg_of.empty()) s << " zerg of " << v.zerg_of;
    s << '\n';
  }
  for (const auto& [pid, r] : retired_) s << r.name << " retired pid " << pid << '\n';
  for (const auto& [name, b] : blacklist_) {
    s << name << " blacklisted: attempt " << b.attempts << ", throttle " << b.throttle.count()
      << " ms\n";
  }
  return s.str();
}

}  // namespace brood::emperor

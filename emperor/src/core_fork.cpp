// emperor_core: the fork server rules (docs/uwsgi-compat.md §17.2): which vassals are bases and
// which fork server a vassal is adopted from, waiting for a starting base, and the rolling
// re-fork after a base restarted (successors, hand-over, retired processes).
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <utility>

#include "brood/emperor/core.hpp"
#include "brood/os/child_process.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {

void reset_process_state(vassal& v);  // core_spawn.cpp

namespace {

std::string without_extension(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

}  // namespace

bool emperor_core::is_fork_base(const std::string& name) const {
  return std::any_of(cfg_.fork_bases.begin(), cfg_.fork_bases.end(), [&](const std::string& b) {
    return b == name || b == without_extension(name);
  });
}

// Its file's attribute, else emperor-use-fork-server; "" for a base.
std::string emperor_core::fork_server_of(const vassal& v) const {
  if (v.fork_base) return {};
  if (!cfg_.fork_server_attr.empty() && !v.file.fork_server.empty()) return v.file.fork_server;
  return cfg_.fork_server;
}

bool emperor_core::base_serves(const vassal& base, const std::string& fork_server) const {
  return base.fork_base && (base.file.serves.empty() || base.file.serves == fork_server);
}

// A base that may serve `fork_server` and is starting: spawned and not ready yet, or restarting.
const vassal* emperor_core::starting_base(const std::string& fork_server) const {
  for (const auto& [name, b] : vassals_) {
    if (!base_serves(b, fork_server)) continue;
    if ((b.state == vassal_state::running && b.process && !b.ready) ||
        b.state == vassal_state::respawn)
      return &b;
  }
  return nullptr;
}

// A base sent ready: its waiting vassals start now, and after a restart on a file change the
// vassals adopted from its previous process are queued for a rolling re-fork.
void emperor_core::on_base_ready(vassal& base, const moment& now) {
  for (auto it = hung_until_.begin(); it != hung_until_.end();)
    it = base_serves(base, it->first) ? hung_until_.erase(it) : std::next(it);
  for (auto& [name, v] : vassals_) {
    if (v.state == vassal_state::waiting && base_serves(base, v.fork_server) &&
        !starting_base(v.fork_server))
      spawn(v, now);
  }
  const bool restarted = std::exchange(base.refork_pending, false);
  unsigned stale = 0, fell_back = 0;
  for (auto& [name, v] : vassals_) {
    if (v.state != vassal_state::running || !v.process || v.successor ||
        !base_serves(base, v.fork_server))
      continue;
    // Adopted from the previous base, or exec'd because the base failed and serving (ready).
    const bool old_code = v.adopted && restarted && v.spawned_at < base.spawned_at;
    const bool exec_d = !v.adopted && !v.fallback.empty() && v.ready;
    if (!old_code && !exec_d) continue;
    if (std::find(refork_queue_.begin(), refork_queue_.end(), name) != refork_queue_.end())
      continue;
    refork_queue_.push_back(name);
    ++(old_code ? stale : fell_back);
  }
  if (stale + fell_back == 0) return;
  os::log("fork base ", base.file.name, ": ready, re-forking ", stale, " adopted and ", fell_back,
          " exec'd vassal(s) one at a time");
  refork_next(now);
}

// A base never reloads in place (its adopted vassals would keep the old code): it is stopped and
// started again, and its vassals are re-forked once the new process is ready.
void emperor_core::restart_base(vassal& base, const std::string& why, const moment& now) {
  os::log("fork base ", base.file.name, " (pid ", base.process->pid(), "): ", why, ", restarting");
  tell_to_stop(base, vassal_state::respawn, now);
  base.respawn_at = now.mono;
  base.refork_pending = true;
}

// Starts the next re-fork of the queue unless one is in progress.
void emperor_core::refork_next(const moment& now) {
  while (reforking_.empty() && !refork_queue_.empty() && !stopping_all_) {
    const std::string name = refork_queue_.front();
    refork_queue_.pop_front();
    const auto found = vassals_.find(name);
    if (found == vassals_.end()) continue;
    vassal& v = found->second;
    if (v.state != vassal_state::running || !v.process || v.successor) continue;
    if (!v.adopted && v.fallback.empty()) continue;  // exec'd on purpose
    std::string error;
    std::vector<os::unique_fd> sockets = v.process->listening_sockets(error);
    if (!error.empty()) {
      os::log("vassal ", name, ": cannot take its listening sockets (", error,
              "); not re-forked, the old process keeps serving");
      continue;
    }
    std::vector<int> fds;
    for (const auto& s : sockets) fds.push_back(s.get());
    adopt_result r = launcher_.adopt(command_of(v), v.fork_server, fds);
    if (!r.process) {
      os::log("vassal ", name, ": re-fork from ", v.fork_server, " failed (", r.error,
              "); the old process keeps serving");
      continue;
    }
    pids_[r.process->pid()] = name;
    os::log("vassal ", name, " (pid ", v.process->pid(), "): re-forked as pid ", r.process->pid(),
            " with ", fds.size(), " inherited socket(s), waiting for it to be ready");
    v.successor = std::move(r.process);
    v.successor_due = now.mono + cfg_.refork_ready;
    reforking_ = name;
  }
}

// A message from a successor: ready (1) completes the re-fork; anything else before it is
// ignored. false when `pid` is not v's successor.
bool emperor_core::on_successor_message(vassal& v, pid_t pid, std::uint8_t byte,
                                        const moment& now) {
  if (!v.successor || v.successor->pid() != pid) return false;
  if (static_cast<wire::vassal_message>(byte) != wire::vassal_message::ready) return true;
  std::unique_ptr<vassal_process> old = std::move(v.process);
  v.process = std::move(v.successor);
  os::log("vassal ", v.file.name, " (pid ", pid, "): re-forked and ready, handing over from pid ",
          old->pid());
  retire(v, std::move(old), wire::emperor_command::hand_over, now);
  reset_process_state(v);
  v.ready = true;
  v.last_ready = now.wall;
  v.last_run = now.wall;
  v.spawned_at = now.mono;
  v.adopted = true;
  v.fallback.clear();
  ++v.reforks;
  if (reforking_ == v.file.name) reforking_.clear();
  refork_next(now);
  return true;
}

// The successor died before it was ready: the old process keeps serving.
bool emperor_core::on_successor_exit(vassal& v, pid_t pid, const moment& now) {
  if (!v.successor || v.successor->pid() != pid) return false;
  v.successor.reset();
  os::log("vassal ", v.file.name, ": the re-forked pid ", pid,
          " died before it was ready; the old process keeps serving");
  if (reforking_ == v.file.name) reforking_.clear();
  refork_next(now);
  return true;
}

// Sends `c` to `p` and keeps it as retired: reaped without respawn, SIGKILL after the curse
// tolerance.
void emperor_core::retire(vassal& v, std::unique_ptr<vassal_process> p, wire::emperor_command c,
                          const moment& now) {
  const pid_t pid = p->pid();
  const bool sent = p->send(c);
  os::log("vassal ", v.file.name, " (pid ", pid, "): retired, command ",
          static_cast<int>(wire::to_byte(c)), sent ? " sent" : " not sent");
  pids_.erase(pid);
  const auto tolerance = stopping_all_ ? cfg_.mercy : cfg_.curse_tolerance;
  retired_[pid] = {v.file.name, std::move(p), now.mono + tolerance};
}

// The vassal stops or its old process died: a successor still starting is stopped too.
void emperor_core::drop_successor(vassal& v, const std::string& why, const moment& now) {
  if (!v.successor) return;
  os::log("vassal ", v.file.name, ": re-fork abandoned (", why, ")");
  retire(v, std::move(v.successor), wire::emperor_command::stop, now);
  if (reforking_ == v.file.name) reforking_.clear();
  refork_next(now);
}

bool emperor_core::on_retired_exit(pid_t pid, int wait_status) {
  const auto found = retired_.find(pid);
  if (found == retired_.end()) return false;
  os::log("vassal ", found->second.name, " (pid ", pid, "): retired process exited, ",
          os::describe_exit(wait_status));
  retired_.erase(found);
  return true;
}

std::map<pid_t, std::string> emperor_core::retired() const {
  std::map<pid_t, std::string> out;
  for (const auto& [pid, r] : retired_) out[pid] = r.name;
  return out;
}

}  // namespace brood::emperor

// emperor_core: broodlord (docs/uwsgi-compat.md §5.1). An SOS (byte 30) from a vassal adds a
// zerg record running the `[zerg]` section of the vassal's file; the zergs of a vassal follow its
// file (removed: stopped, changed: reloaded). The other zerg rules sit with the events they
// belong to (22 in core_messages.cpp, exits in core_exit.cpp).
#include <string>

#include "brood/emperor/core.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {
namespace {

bool is_zerg_of(const vassal& z, const std::string& base) { return z.zerg_of == base; }

// Still starting: no answer to "ready"/"accepting" yet, or waiting for its (re)start.
bool starting(const vassal& z) {
  if (z.state == vassal_state::respawn) return true;
  return z.state == vassal_state::running && z.process && !z.ready && !z.accepting;
}

}  // namespace

std::size_t emperor_core::zerg_count() const noexcept {
  std::size_t n = 0;
  for (const auto& [name, v] : vassals_) n += v.zerg_of.empty() ? 0 : 1;
  return n;
}

// One zerg per SOS, when every rule allows it (core.hpp, "broodlord").
void emperor_core::on_sos(vassal& v, const moment& now) {
  if (sos_handler_ && v.zerg_of.empty() && v.state == vassal_state::running && !stopping_all_ &&
      sos_handler_(v.file.name)) {
    os::log("vassal ", v.file.name, ": SOS passed to the legion's lord");
    return;
  }
  const std::string why = sos_refusal(v);
  if (!why.empty()) {
    refuse_sos(v, why);
    return;
  }
  v.sos_refused.clear();
  start_zerg(v, now);
}

// Why an SOS from `v` starts no zerg now; "" when it does.
std::string emperor_core::sos_refusal(const vassal& v) const {
  if (cfg_.broodlord == 0) return "no broodlord (emperor-broodlord is 0)";
  if (!v.zerg_of.empty()) return "a zerg cannot ask for reinforcements";
  if (stopping_all_) return "the emperor is stopping";
  if (v.state != vassal_state::running) return std::string("the vassal is ") + to_string(v.state);
  if (zerg_count() >= cfg_.broodlord)
    return "emperor-broodlord limit reached (" + std::to_string(cfg_.broodlord) + " zergs in all)";
  if (const vassal* z = starting_zerg(v.file.name))
    return "zerg " + z->file.name + " is still starting";
  return {};
}

// Logs the refusal unless the previous SOS of this vassal was refused for the same reason.
void emperor_core::refuse_sos(vassal& v, const std::string& why) {
  if (v.sos_refused == why) return;
  v.sos_refused = why;
  os::log("vassal ", v.file.name, ": SOS ignored: ", why);
}

// The record of zerg `name` of `base`'s file (its `[zerg]` section), not yet spawned.
// REQUIRES: `name` is free.
vassal& emperor_core::new_zerg(const vassal_file& base, const std::string& name) {
  vassal& z = vassals_[name];
  z.file = base;
  z.file.name = name;
  z.file.on_demand.clear();  // a zerg is never on demand
  z.zerg_of = base.name;
  z.zerg_number = ++zergs_started_;
  return z;
}

// REQUIRES: `base` is a vassal (not a zerg) whose record stays (map insertion keeps references).
void emperor_core::start_zerg(const vassal& base, const moment& now) {
  const std::string name = free_zerg_name(base.file.name);
  vassal& z = new_zerg(base.file, name);
  os::log("vassal ", base.file.name, ": SOS, starting zerg ", name, " (", zerg_count(), " of ",
          cfg_.broodlord, ")");
  spawn(z, now);
}

bool emperor_core::add_zerg(const vassal_file& base, const std::string& name, const moment& now) {
  if (vassals_.count(name)) {
    os::log("zerg ", name, ": not started, the name is taken here");
    return false;
  }
  vassal& z = new_zerg(base, name);
  os::log("vassal ", base.name, ": starting zerg ", name, " placed here by the legion");
  spawn(z, now);
  return true;
}

// The base file is gone: every zerg of it stops, and its record goes once its process exited.
void emperor_core::stop_zergs(const std::string& base, const moment& now) {
  for (auto it = vassals_.begin(); it != vassals_.end();) {
    vassal& z = it->second;
    if (!is_zerg_of(z, base)) {
      ++it;
    } else if (z.process) {
      os::log("zerg ", z.file.name, " (pid ", z.process->pid(), "): base file removed, stopping");
      tell_to_stop(z, vassal_state::stopping, now);
      ++it;
    } else {
      os::log("zerg ", z.file.name, ": base file removed");
      it = forget(it);
    }
  }
}

// The base file changed: a running zerg reloads (byte 1), a throttled one starts now; each
// keeps its name and its file is updated (mtime, stats).
void emperor_core::reload_zergs(const vassal_file& base, const moment& now) {
  for (auto& [name, z] : vassals_) {
    if (!is_zerg_of(z, base.name)) continue;
    z.file = base;
    z.file.name = name;
    z.file.on_demand.clear();
    if (z.state == vassal_state::running && z.process) {
      os::log("zerg ", name, " (pid ", z.process->pid(), "): base file changed, reload ",
              z.process->send(wire::emperor_command::reload) ? "sent" : "not sent");
    } else if (z.state == vassal_state::respawn && !z.process && !stopping_all_) {
      os::log("zerg ", name, ": base file changed, restarting now");
      start(z, now);
    }
  }
}

const vassal* emperor_core::starting_zerg(const std::string& base) const {
  for (const auto& [name, z] : vassals_)
    if (is_zerg_of(z, base) && starting(z)) return &z;
  return nullptr;
}

// "BASE:zerg" when free, else "BASE:zerg:N" with the lowest free N >= 2.
std::string emperor_core::free_zerg_name(const std::string& base) const {
  const std::string first = base + ":zerg";
  if (vassals_.count(first) == 0) return first;
  for (unsigned n = 2;; ++n) {
    std::string name = first + ":" + std::to_string(n);
    if (vassals_.count(name) == 0) return name;
  }
}

}  // namespace brood::emperor

// placement_gate: the legion's assignment turned into the core's scan changes.
#include "brood/emperor/placement_gate.hpp"

#include "brood/os/log.hpp"

namespace brood::emperor {

using legion::placement_action;
using pstate = legion::vassal_state;

placement_gate::placement_gate(std::function<std::uint32_t(const vassal_file&)> replicas_of)
    : replicas_of_(std::move(replicas_of)) {}

void placement_gate::give(const std::string& name, scan_changes& out) {
  if (given_.count(name)) return;
  const auto f = present_.find(name);
  if (f == present_.end()) return;
  given_.insert(name);
  stopping_.erase(name);
  reported_.erase(name);
  out.added.push_back(f->second.first);
}

void placement_gate::take_back(const std::string& name, scan_changes& out) {
  if (given_.erase(name) == 0) return;
  stopping_.insert(name);
  out.removed.push_back(name);
}

scan_changes placement_gate::on_scan(const scan_changes& dir) {
  scan_changes out;
  for (const std::string& name : dir.removed) {
    present_.erase(name);
    take_back(name, out);
  }
  for (const vassal_file& f : dir.added) {
    present_[f.name] = {f, replicas_of_(f)};
    if (assigned_.count(f.name)) give(f.name, out);
  }
  for (const vassal_file& f : dir.changed) {
    present_[f.name] = {f, replicas_of_(f)};
    if (given_.count(f.name)) out.changed.push_back(f);
  }
  return out;
}

std::vector<legion::vassal_spec> placement_gate::catalog() const {
  std::vector<legion::vassal_spec> out;
  for (const auto& [name, f] : present_) out.push_back({name, f.second});
  return out;
}

placement_gate::effect placement_gate::on_action(const placement_action& a) {
  effect e;
  switch (a.what) {
    case placement_action::kind::start:
      assigned_.insert(a.vassal);
      if (!present_.count(a.vassal)) {
        os::log("legion placement: vassal ", a.vassal, " is not in the directory here: failed");
        pending_.emplace_back(a.vassal, pstate::failed);
        return e;
      }
      give(a.vassal, e.changes);
      return e;
    case placement_action::kind::stop:
    case placement_action::kind::kill:
      assigned_.erase(a.vassal);
      if (!given_.count(a.vassal)) {
        if (!stopping_.count(a.vassal)) pending_.emplace_back(a.vassal, pstate::stopped);
        if (a.what == placement_action::kind::kill && stopping_.count(a.vassal))
          e.kill.push_back(a.vassal);
        return e;
      }
      take_back(a.vassal, e.changes);
      if (a.what == placement_action::kind::kill) e.kill.push_back(a.vassal);
      return e;
  }
  return e;
}

std::vector<std::pair<std::string, pstate>> placement_gate::states(
    const std::map<std::string, vassal>& records,
    const std::map<std::string, blacklist_entry>& blacklist) {
  std::vector<std::pair<std::string, pstate>> out = std::exchange(pending_, {});
  auto report = [&](const std::string& name, pstate s) {
    auto it = reported_.find(name);
    if (it != reported_.end() && it->second == s) return;
    reported_[name] = s;
    out.emplace_back(name, s);
  };
  for (const std::string& name : given_) {
    const auto r = records.find(name);
    if (r == records.end()) continue;
    const vassal& v = r->second;
    if (v.state == vassal_state::exiled ||
        (v.state == vassal_state::respawn && blacklist.count(name))) {
      report(name, pstate::failed);
    } else if (v.process && (v.ready || v.accepting)) {
      report(name, pstate::running);
    }
  }
  for (auto it = stopping_.begin(); it != stopping_.end();) {
    if (records.count(*it)) {
      ++it;
      continue;
    }
    out.emplace_back(*it, pstate::stopped);
    reported_.erase(*it);
    it = stopping_.erase(it);
  }
  return out;
}

}  // namespace brood::emperor

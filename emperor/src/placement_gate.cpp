// placement_gate: the legion's assignment turned into the core's scan changes.
#include "brood/emperor/placement_gate.hpp"

#include "brood/os/log.hpp"

namespace brood::emperor {

using legion::placement_action;
using pstate = legion::vassal_state;

placement_gate::placement_gate(std::function<std::uint32_t(const vassal_file&)> replicas_of,
                               std::function<bool(const vassal_file&)> has_zerg)
    : replicas_of_(std::move(replicas_of)), has_zerg_(std::move(has_zerg)) {}

std::vector<std::string> placement_gate::given_zergs_of(const std::string& base) const {
  std::vector<std::string> out;
  for (const std::string& name : given_)
    if (legion::zerg_base(name) == base) out.push_back(name);
  return out;
}

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
  auto note = [&](const vassal_file& f) {
    present_[f.name] = {f, replicas_of_(f)};
    if (has_zerg_ && has_zerg_(f)) {
      with_zerg_.insert(f.name);
    } else {
      with_zerg_.erase(f.name);
    }
  };
  for (const std::string& name : dir.removed) {
    present_.erase(name);
    with_zerg_.erase(name);
    take_back(name, out);
    for (const std::string& z : given_zergs_of(name)) take_back(z, out);
  }
  for (const vassal_file& f : dir.added) {
    note(f);
    if (assigned_.count(f.name)) give(f.name, out);
  }
  for (const vassal_file& f : dir.changed) {
    note(f);
    if (given_.count(f.name)) {
      out.changed.push_back(f);  // the core reloads the zergs of a vassal it runs
      continue;
    }
    for (const std::string& z : given_zergs_of(f.name)) {
      vassal_file zf = f;
      zf.name = z;
      zf.on_demand.clear();
      out.changed.push_back(zf);
    }
  }
  return out;
}

std::vector<legion::vassal_spec> placement_gate::catalog() const {
  std::vector<legion::vassal_spec> out;
  for (const auto& [name, f] : present_)
    out.push_back({name, f.second, with_zerg_.count(name) > 0});
  return out;
}

placement_gate::effect placement_gate::on_action(const placement_action& a) {
  effect e;
  switch (a.what) {
    case placement_action::kind::start:
      assigned_.insert(a.vassal);
      if (const std::string base = legion::zerg_base(a.vassal); !base.empty()) {
        const auto f = present_.find(base);
        if (f == present_.end() || !with_zerg_.count(base)) {
          os::log("legion placement: zerg ", a.vassal, " has no [zerg] section of ", base,
                  " here: failed");
          pending_.emplace_back(a.vassal, pstate::failed);
        } else if (given_.insert(a.vassal).second) {
          stopping_.erase(a.vassal);
          reported_.erase(a.vassal);
          e.zergs.emplace_back(f->second.first, a.vassal);
        }
        return e;
      }
      if (!present_.count(a.vassal)) {
        os::log("legion placement: vassal ", a.vassal, " is not in the directory here: failed");
        pending_.emplace_back(a.vassal, pstate::failed);
        return e;
      }
      give(a.vassal, e.changes);
      return e;
    case placement_action::kind::stop:
    case placement_action::kind::kill:
      if (!a.handed_to.empty()) {
        std::string to;
        for (const std::string& m : a.handed_to) to += (to.empty() ? "" : ",") + m;
        // The benchmark's harness reads this line (bench/python/placement_cluster.py).
        os::log("legion placement: vassal ", a.vassal, " handed over to ", to,
                a.what == placement_action::kind::kill ? ": killing it here (fenced)"
                                                       : ": stopping it here");
      }
      if (!a.handed_from.empty())
        os::log("legion placement: vassal ", a.vassal, " taken over from ", a.handed_from,
                ": killing it here (fenced) before the hand-over ended");
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
  for (auto it = given_.begin(); it != given_.end();) {
    const std::string& name = *it;
    const auto r = records.find(name);
    if (r == records.end()) {
      if (legion::zerg_base(name).empty()) {
        ++it;
        continue;
      }
      // A zerg whose record went by itself: it retired (22) or was removed for good.
      out.emplace_back(name, pstate::stopped);
      reported_.erase(name);
      it = given_.erase(it);
      continue;
    }
    ++it;
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

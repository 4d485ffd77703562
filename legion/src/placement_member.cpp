// The member side of placement.hpp: reports, the lease an ack gives, the assignment and the table
// a member applies, and the actions that make its vassals match them (or kill them when fenced).
#include <algorithm>

#include "placement_state.hpp"

namespace brood::legion {
namespace {

constexpr std::size_t max_unanswered = 64;  // reports remembered while awaiting their ack
constexpr const char* announced_only = "the member the lord chooses";

std::vector<std::string> sorted(const std::set<std::string>& s) { return {s.begin(), s.end()}; }

}  // namespace

void placement::state::send_report(time_point now) {
  me.next_report = now + p.report_every;
  if (me.lord.empty()) return;
  placement_message m;
  m.kind = placement_kind::report;
  m.epoch = me.epoch_seen;
  m.ref = me.next_ref++;
  m.version = table.version;
  m.capacity = p.capacity;
  m.lease_ref = is_fenced(now) ? 0 : me.lease_ref;
  // What is being stopped or killed is not reported: a new lord, quiet, assigns a member exactly
  // what it reports, and would give it back a vassal whose stop ends a hand-over while the new
  // copy runs elsewhere (the member then started it again once the stop was done).
  for (const std::string& v : me.running)
    if (!me.stopping.count(v) && !me.killing.count(v)) m.running.push_back(v);
  for (const std::string& v : me.starting)
    if (!me.stopping.count(v) && !me.killing.count(v)) m.starting.push_back(v);
  std::set<std::string> going = me.stopping;
  going.insert(me.killing.begin(), me.killing.end());
  m.stopping = sorted(going);
  m.failed = sorted(me.failed_unreported);
  for (auto& [vassal, ref] : me.sos) {
    if (ref == 0) ref = m.ref;
    m.sos.push_back(vassal);
  }
  // A lord of a newer epoch may not hold the newest table yet: it takes ours if newer.
  if (table.epoch < me.epoch_seen) m.table = table;
  me.sent.emplace_back(m.ref, now);
  if (me.sent.size() > max_unanswered) me.sent.pop_front();
  deliver(std::move(m), me.lord, now);
}

void placement::state::adopt_table(const placement_table& t) {
  // The lord's own member shares the lord's table: it only notes what leaves it.
  if (std::make_pair(t.epoch, t.version) > std::make_pair(table.epoch, table.version)) table = t;
  std::erase_if(me.leaving_me, [&](const std::string& v) {
    auto l = table.leaving.find(v);
    auto where = table.placed.find(v);
    return (l == table.leaving.end() || l->second != p.self) && where != table.placed.end() &&
           std::find(where->second.begin(), where->second.end(), p.self) != where->second.end();
  });
  for (const auto& [v, old] : table.leaving)
    if (old == p.self) me.leaving_me.insert(v);
}

void placement::state::apply_assignment(std::uint64_t epoch, std::uint64_t version,
                                        const std::vector<std::string>& assigned) {
  if (std::make_pair(epoch, version) <= me.applied) return;
  me.applied = {epoch, version};
  me.assigned = {assigned.begin(), assigned.end()};
  std::erase_if(me.retired, [&](const std::string& z) { return !me.assigned.count(z); });
}

void placement::state::on_ack(const placement_message& m, time_point) {
  if (m.epoch < me.epoch_seen) return;  // from a lord that was replaced
  me.epoch_seen = m.epoch;
  auto it =
      std::find_if(me.sent.begin(), me.sent.end(), [&](const auto& r) { return r.first == m.ref; });
  if (it == me.sent.end()) return;  // not a report of ours that is still awaited
  const time_point sent_at = it->second;
  me.sent.erase(me.sent.begin(), it + 1);  // older reports' acks can only give shorter leases
  if (sent_at + member_lease() > me.lease_until) {
    me.lease_until = sent_at + member_lease();
    me.lease_ref = m.ref;
  }
  me.failed_unreported.clear();
  std::erase_if(me.sos, [&](const auto& kv) { return kv.second != 0 && kv.second <= m.ref; });
  if (m.table) adopt_table(*m.table);
  apply_assignment(m.epoch, m.version, m.assigned);
}

void placement::state::on_assign(const placement_message& m, time_point) {
  if (m.epoch < me.epoch_seen) return;
  me.epoch_seen = m.epoch;
  if (m.table) adopt_table(*m.table);
  apply_assignment(m.epoch, m.version, m.assigned);
}

void placement::state::reconcile(time_point now) {
  if (is_fenced(now)) {
    // No lease: nothing of the legion may run here. Everything still up is killed at once.
    for (auto* set : {&me.running, &me.starting, &me.stopping}) {
      for (const std::string& v : *set) {
        if (!me.killing.insert(v).second) continue;
        placement_action a{placement_action::kind::kill, v, {}};
        // A hand-over's old copy whose member was cut before it heard the new one runs: it
        // ends here, at the lease's end, as the hand-over allows.
        auto where = table.placed.find(v);
        if (me.leaving_me.count(v)) {
          if (where != table.placed.end())
            for (const std::string& m : where->second)
              if (m != p.self) a.handed_to.push_back(m);
          // Only the announcement reached us: the lord places the new copy once we reported
          // holding it, on a member that no table of ours names yet.
          if (a.handed_to.empty()) a.handed_to.push_back(announced_only);
        }
        // The new copy of a hand-over still under way: it ends here, the old one stays.
        auto from = table.leaving.find(v);
        if (from != table.leaving.end() && from->second != p.self && where != table.placed.end() &&
            std::find(where->second.begin(), where->second.end(), p.self) != where->second.end())
          a.handed_from = from->second;
        actions.push_back(std::move(a));
      }
      set->clear();
    }
    me.leaving_me.clear();
    return;
  }
  for (const std::string& v : me.assigned) {
    if (me.running.count(v) || me.starting.count(v) || me.killing.count(v) || me.retired.count(v))
      continue;
    // A copy whose move away from here was announced only ends here: its new member may start
    // it at any moment (a member fenced during the move, its lease renewed, started it again
    // beside the new copy).
    if (auto l = table.leaving.find(v); l != table.leaving.end() && l->second == p.self) continue;
    auto f = me.failed.find(v);
    if (f != me.failed.end()) {
      if (now - f->second < p.failure_memory) continue;
      me.failed.erase(f);
    }
    me.starting.insert(v);
    actions.push_back({placement_action::kind::start, v, {}});
  }
  for (auto* set : {&me.running, &me.starting}) {
    for (auto it = set->begin(); it != set->end();) {
      if (me.assigned.count(*it)) {
        ++it;
        continue;
      }
      if (me.stopping.insert(*it).second) {
        placement_action a{placement_action::kind::stop, *it, {}};
        auto where = table.placed.find(*it);
        if (me.leaving_me.erase(*it) && where != table.placed.end())
          for (const std::string& m : where->second)
            if (m != p.self) a.handed_to.push_back(m);
        actions.push_back(std::move(a));
      }
      ++it;
    }
  }
}

}  // namespace brood::legion

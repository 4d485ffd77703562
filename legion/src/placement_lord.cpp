// The lord side of placement.hpp: reports answered with acks (the members' leases), lost members,
// failed starts, placement of missing copies (the balancing moves: placement_balance.cpp), and the
// table pushed to every member after each change.
#include <algorithm>
#include <limits>

#include "placement_state.hpp"

namespace brood::legion {
namespace {

std::uint32_t replicas_of(const placement_table& t, const std::string& vassal) {
  if (!zerg_base(vassal).empty()) return 1;  // a zerg entry: one copy, never placed again
  const vassal_spec* s = spec_in(t, vassal);
  return s ? std::max<std::uint32_t>(1, s->replicas) : 0;  // 0: not in the catalog
}

}  // namespace

void placement::state::become_lord(std::uint64_t epoch, time_point now) {
  lord = {};
  lord.active = true;
  lord.epoch = epoch;
  lord.since = now;
  lord.quiet_until = now + lord_wait();
  lord.base = {table.epoch, table.version};
  // Any member may hold a lease from the previous lord until then.
  for (const std::string& m : p.members) lord.members[m].lease_deadline = now + lord_wait();
  table.epoch = epoch;
  table.version = 0;
}

std::vector<std::string> placement::state::assignment_of(const std::string& member) const {
  std::vector<std::string> out;
  if (lord.quiet) {
    // Before the table is rebuilt, a member keeps exactly what it runs: nothing starts or stops.
    auto it = lord.members.find(member);
    if (it == lord.members.end()) return out;
    out.assign(it->second.running.begin(), it->second.running.end());
    out.insert(out.end(), it->second.starting.begin(), it->second.starting.end());
    std::sort(out.begin(), out.end());
    return out;
  }
  for (const auto& [vassal, where] : table.placed)
    if (holds_member(where, member)) out.push_back(vassal);
  return out;
}

void placement::state::on_report(const placement_message& m, time_point now) {
  // Only reports sent to this term: one of an older epoch was sent to an earlier lord (or to
  // this member in an earlier term) and may arrive late, after a cut heals (ZeroMQ queues it):
  // its `running` is stale, and a quiet lord would rebuild the table from it and hand the
  // member back vassals it killed when fenced while they run elsewhere. A member that learns
  // of this lord reports with its epoch at once.
  if (!lord.active || m.epoch != lord.epoch) return;
  auto rec_it = lord.members.find(m.from);
  if (rec_it == lord.members.end()) return;  // not a configured member
  member_record& rec = rec_it->second;
  if (m.ref < rec.last_ref) rec.dead_ref = rec.acked_ref = 0;  // a new process: refs restart
  rec.last_ref = m.ref;
  rec.reported = true;
  rec.last_report = now;
  rec.capacity = m.capacity;
  rec.version = m.table ? 0 : m.version;  // a table sent along: it holds an older term's
  rec.stopping = {m.stopping.begin(), m.stopping.end()};
  if (rec.dead_ref != 0 && m.lease_ref <= rec.dead_ref) {
    // Sent under a lease this lord counted as over (a report held during a cut, delivered after
    // the heal): the member fenced itself and killed what it lists before the lord expired it.
    rec.running.clear();
    rec.starting.clear();
  } else {
    rec.running = {m.running.begin(), m.running.end()};
    rec.starting = {m.starting.begin(), m.starting.end()};
  }
  if (m.table && lord.quiet && std::make_pair(m.table->epoch, m.table->version) > lord.base) {
    lord.base = {m.table->epoch, m.table->version};
    table.catalog = m.table->catalog;
    table.placed = m.table->placed;
    table.leaving = m.table->leaving;
  }
  if (!lord.quiet) drop_retired_zergs(m.from, rec);
  for (const std::string& v : m.failed) {
    lord.refused[{m.from, v}] = now + p.failure_memory;
    auto it = table.placed.find(v);
    if (it != table.placed.end() && holds_member(it->second, m.from)) {
      drop_member(it->second, m.from);
      lord.pending.erase({m.from, v});
      lord.changed = true;
    }
  }
  if (!lord.quiet)
    for (const std::string& v : m.sos) on_sos(m.from, v, now);
  lord_step(now);
  placement_message ack;
  ack.kind = placement_kind::ack;
  ack.epoch = lord.epoch;
  ack.ref = m.ref;
  ack.version = table.version;
  ack.assigned = assignment_of(m.from);
  if (m.version != table.version || m.epoch != lord.epoch) ack.table = table;
  rec.lease_deadline = std::max(rec.lease_deadline, now + lord_wait());
  rec.acked_ref = std::max(rec.acked_ref, m.ref);
  deliver(std::move(ack), m.from, now);
}

void placement::state::end_quiet(time_point now) {
  lord.quiet = false;
  // What a member that reported runs is the truth; the table holds the others until their
  // leases run out.
  for (auto& [vassal, where] : table.placed) {
    where.erase(std::remove_if(where.begin(), where.end(),
                               [&](const std::string& m) {
                                 auto it = lord.members.find(m);
                                 return it == lord.members.end() || it->second.reported;
                               }),
                where.end());
  }
  for (const auto& [m, rec] : lord.members) {
    if (!rec.reported) continue;
    for (const auto* set : {&rec.running, &rec.starting})
      for (const std::string& v : *set) {
        auto& where = table.placed[v];
        if (!holds_member(where, m)) where.push_back(m);
        if (set == &rec.starting) lord.pending[{m, v}] = now + p.start_timeout;
      }
  }
  lord.changed = true;
}

void placement::state::expire_members(time_point now) {
  for (auto& [m, rec] : lord.members) {
    if (rec.lease_deadline > now) continue;
    rec.reported = false;  // eligible again once it reports
    rec.dead_ref = std::max(rec.dead_ref, rec.acked_ref);
    std::size_t released = 0;
    for (auto& [vassal, where] : table.placed) {
      if (!holds_member(where, m)) continue;
      drop_member(where, m);
      lord.pending.erase({m, vassal});
      lord.changed = true;
      ++released;
    }
    if (released)
      decide(m + "'s lease is over: its " + std::to_string(released) + " vassal(s) released");
  }
}

void placement::state::settle(time_point now) {
  for (auto it = lord.refused.begin(); it != lord.refused.end();)
    it = it->second <= now ? lord.refused.erase(it) : std::next(it);
  for (auto it = lord.pending.begin(); it != lord.pending.end();) {
    const auto& [m, v] = it->first;
    const member_record& rec = lord.members[m];
    if (rec.running.count(v)) {
      it = lord.pending.erase(it);
    } else if (it->second <= now) {
      lord.refused[{m, v}] = now + p.failure_memory;
      lord.changed = true;
      // Not running in time. A slow start may still come up there, and its member holds a
      // lease on it until it hears: the copy moves as a planned hand-over (announced, the new
      // copy placed once that member holds the table showing it leaving, its copy stopped once
      // the new one runs). A zerg entry is never placed again, and the new copy of a hand-over
      // is dropped (the hand-over is off, the old copy stays): both go at once, as before. A
      // copy whose move is announced already, or with nowhere to go, waits another
      // start_timeout.
      const auto l = table.leaving.find(v);
      const bool drop = !zerg_base(v).empty() || (l != table.leaving.end() && l->second != m);
      const std::string to = !drop && l == table.leaving.end() ? best_for(v, now) : std::string();
      if (drop) {
        drop_member(table.placed[v], m);
        decide(v + " not running on " + m + " in time: dropped there");
      } else if (!to.empty()) {
        table.leaving[v] = m;
        lord.moving[v] = {to, table.version};
        decide(v + " not running on " + m + " in time: moving to " + to);
      } else {
        it->second = now + p.start_timeout;
        ++it;
        continue;
      }
      it = lord.pending.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = table.placed.begin(); it != table.placed.end();) {
    if (!known(it->first) || it->second.empty()) {
      table.leaving.erase(it->first);
      lord.changed = lord.changed || !it->second.empty();
      it = table.placed.erase(it);
    } else {
      ++it;
    }
  }
  // More copies than replicas and no hand-over under way: a new lord rebuilt the table from
  // reports taken in the middle of a hand-over (both copies reported running). One copy leaves
  // as in a hand-over, stopped once the others run: one that does not run yet, else the one on
  // the most loaded member.
  for (auto& [vassal, where] : table.placed) {
    if (where.size() <= replicas_of(table, vassal) || table.leaving.count(vassal)) continue;
    std::string out;
    for (const std::string& m : where) {
      auto rec = lord.members.find(m);
      const bool runs = rec != lord.members.end() && rec->second.running.count(vassal);
      if (!runs) {
        out = m;
        break;
      }
      if (out.empty() || load_of(m, 0) > load_of(out, 0)) out = m;
    }
    table.leaving[vassal] = out;
    lord.changed = true;
  }
  finish_handovers();
}

void placement::state::finish_handovers() {
  for (auto it = table.leaving.begin(); it != table.leaving.end();) {
    const std::string& vassal = it->first;
    const std::string& old = it->second;
    auto& where = table.placed[vassal];
    bool arrived = where.size() > replicas_of(table, vassal);
    for (const std::string& m : where)
      if (m != old && lord.pending.count({m, vassal})) arrived = false;
    if (!holds_member(where, old)) {
      lord.moving.erase(vassal);
      it = table.leaving.erase(it);
      lord.changed = true;
    } else if (lord.moving.count(vassal)) {
      ++it;  // announced: the new copy is placed once the old member knows (start_moves)
    } else if (arrived) {
      drop_member(where, old);
      it = table.leaving.erase(it);
      lord.changed = true;
    } else if (where.size() <= replicas_of(table, vassal)) {
      it = table.leaving.erase(it);  // the new copy failed: the old one stays
      lord.changed = true;
    } else {
      ++it;
    }
  }
}

std::size_t placement::state::count_on(const std::string& member) const {
  std::size_t n = 0;
  for (const auto& [vassal, where] : table.placed) n += holds_member(where, member) ? 1 : 0;
  return n;
}

double placement::state::load_of(const std::string& member, std::size_t extra) const {
  const member_record& rec = lord.members.at(member);
  const double weight = rec.capacity ? rec.capacity : 1.0;
  return static_cast<double>(count_on(member) + extra) / weight;
}

bool placement::state::eligible(const std::string& member, const std::string& vassal,
                                time_point now) const {
  const member_record& rec = lord.members.at(member);
  if (!rec.reported || rec.lease_deadline <= now) return false;
  auto placed = table.placed.find(vassal);
  if (placed != table.placed.end() && holds_member(placed->second, member)) return false;
  if (lord.refused.count({member, vassal})) return false;
  return rec.capacity == 0 || count_on(member) < rec.capacity;
}

std::string placement::state::best_for(const std::string& vassal, time_point now) const {
  std::string best;
  double best_load = std::numeric_limits<double>::max();
  for (const auto& [m, rec] : lord.members) {
    if (!eligible(m, vassal, now)) continue;
    const double load = load_of(m, 1);
    if (load < best_load) best_load = load, best = m;
  }
  return best;
}

std::vector<std::string> placement::state::exiting_on(const std::string& vassal,
                                                      time_point now) const {
  // Only what a member holding a lease said, or says in the report handled now (it gets one).
  std::vector<std::string> out;
  for (const auto& [m, rec] : lord.members)
    if (((rec.reported && rec.lease_deadline > now) || rec.last_report == now) &&
        rec.stopping.count(vassal))
      out.push_back(m);
  return out;
}

void placement::state::place_missing(time_point now) {
  for (const vassal_spec& spec : table.catalog) {
    auto& where = table.placed[spec.name];
    const std::uint32_t want = std::max<std::uint32_t>(1, spec.replicas);
    // A copy still exiting on a member that holds a lease: a new copy goes only to such a member
    // (it starts it once its old one exited) or waits until the old one is gone (a member's
    // next report; one whose lease ends is fenced and its kills done by then).
    const std::vector<std::string> exiting = exiting_on(spec.name, now);
    for (const std::string& m : exiting) {
      if (where.size() >= want || !eligible(m, spec.name, now)) continue;
      where.push_back(m);
      lord.pending[{m, spec.name}] = now + p.start_timeout;
      lord.changed = true;
      decide(spec.name + " placed on " + m + " again (its copy there still exits)");
    }
    while (exiting.empty() && where.size() < want) {
      const std::string best = best_for(spec.name, now);
      if (best.empty()) break;
      where.push_back(best);
      lord.pending[{best, spec.name}] = now + p.start_timeout;
      lord.changed = true;
      decide(spec.name + " placed on " + best + " (" + std::to_string(count_on(best)) + " there)");
    }
  }
}

bool placement::state::known(const std::string& name) const {
  const std::string base = zerg_base(name);
  const vassal_spec* s = spec_in(table, base.empty() ? name : base);
  return s && (base.empty() || s->zerg);
}

void placement::state::lord_step(time_point now) {
  if (!lord.active) return;
  if (lord.quiet) {
    const bool all = std::all_of(lord.members.begin(), lord.members.end(),
                                 [](const auto& kv) { return kv.second.reported; });
    if (!all && now < lord.quiet_until) return;
    end_quiet(now);
  }
  expire_members(now);
  settle(now);
  start_moves(now);
  place_missing(now);
  balance(now);
  if (lord.changed) {
    lord.changed = false;
    ++table.version;
    broadcast_assignments(now);
  }
}

void placement::state::broadcast_assignments(time_point now) {
  for (const auto& [m, rec] : lord.members) {
    if (!rec.reported) continue;
    placement_message a;
    a.kind = placement_kind::assign;
    a.epoch = lord.epoch;
    a.version = table.version;
    a.assigned = assignment_of(m);
    a.table = table;
    deliver(std::move(a), m, now);
  }
}

}  // namespace brood::legion

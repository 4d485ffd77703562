// The lord's balancing (placement.hpp): one move at a time from the most to the least loaded
// member, announced to the old member first and placed on the new one once the old member holds
// the table that shows it leaving.
#include "placement_state.hpp"

namespace brood::legion {

void placement::state::balance(time_point now) {
  if (!p.balance || !lord.pending.empty() || !table.leaving.empty()) return;
  // Only between members heard from lately: a hand-over's old copy stops when its member hears
  // the new table, or at the latest when its lease ends.
  std::string most, least;
  for (const auto& [m, rec] : lord.members) {
    if (!rec.reported || rec.lease_deadline <= now || now - rec.last_report > 2 * p.report_every)
      continue;
    if (most.empty() || load_of(m, 0) > load_of(most, 0)) most = m;
    if (least.empty() || load_of(m, 0) < load_of(least, 0)) least = m;
  }
  if (most.empty() || most == least) return;
  // Moving one vassal must leave the receiver below the giver's load of now.
  if (!(load_of(least, 1) < load_of(most, 0) - 1e-9)) return;
  for (auto& [vassal, where] : table.placed) {
    if (!zerg_base(vassal).empty()) continue;  // a zerg stays where it started
    if (!holds_member(where, most) || !eligible(least, vassal, now)) continue;
    // Announced first (the table shows it leaving `most`); placed on `least` once `most` holds
    // that table (start_moves).
    table.leaving[vassal] = most;
    lord.moving[vassal] = {least, table.version};
    lord.changed = true;
    decide(vassal + " to move from " + most + " to " + least + " (balance)");
    return;
  }
}

void placement::state::start_moves(time_point now) {
  for (auto it = lord.moving.begin(); it != lord.moving.end();) {
    const std::string& vassal = it->first;
    const auto& [to, announced] = it->second;
    auto l = table.leaving.find(vassal);
    if (l == table.leaving.end()) {
      it = lord.moving.erase(it);
      continue;
    }
    const member_record& old = lord.members.at(l->second);
    if (old.version <= announced) {
      ++it;  // the old member has not shown the table that announces it yet
      continue;
    }
    if (eligible(to, vassal, now)) {
      table.placed[vassal].push_back(to);
      lord.pending[{to, vassal}] = now + p.start_timeout;
      decide(vassal + " placed on " + to + " (moving from " + l->second + ")");
    } else {
      decide(vassal + ": the move from " + l->second + " to " + to + " is off");
      table.leaving.erase(l);  // the new member went away meanwhile: the move is off
    }
    lord.changed = true;
    it = lord.moving.erase(it);
  }
}

}  // namespace brood::legion

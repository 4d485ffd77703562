// Broodlord across the legion, the lord's side (placement.hpp): an SOS of a member's vassal
// places one zerg entry on another member; a zerg entry that retired leaves the table.
#include <algorithm>
#include <limits>
#include <set>

#include "placement_state.hpp"

namespace brood::legion {

// A zerg entry of `member` that its report shows neither running nor starting, and that is not
// waiting for its start, has retired (or failed): it goes from the table.
void placement::state::drop_retired_zergs(const std::string& member, const member_record& rec) {
  for (auto& [vassal, where] : table.placed) {
    if (zerg_base(vassal).empty() || !holds_member(where, member)) continue;
    if (rec.running.count(vassal) || rec.starting.count(vassal) ||
        lord.pending.count({member, vassal}))
      continue;
    drop_member(where, member);
    lord.changed = true;
  }
}

void placement::state::on_sos(const std::string& member, const std::string& vassal,
                              time_point now) {
  const vassal_spec* spec = spec_in(table, vassal);
  if (p.broodlord == 0 || !spec || !spec->zerg) return;
  auto base = table.placed.find(vassal);
  if (base == table.placed.end() || !holds_member(base->second, member)) return;
  std::size_t zergs = 0;
  std::set<std::string> taken;     // zerg names of `vassal` in the table
  std::set<std::string> occupied;  // members that run a copy or a zerg of `vassal`
  occupied.insert(base->second.begin(), base->second.end());
  for (const auto& [name, where] : table.placed) {
    const std::string b = zerg_base(name);
    if (b.empty()) continue;
    ++zergs;
    if (b != vassal) continue;
    taken.insert(name);
    for (const std::string& m : where) {
      if (lord.pending.count({m, name})) return;  // one of its zergs is still starting
      occupied.insert(m);
    }
  }
  if (zergs >= p.broodlord) return;
  std::string name = vassal + ":zerg";
  for (unsigned n = 2; taken.count(name); ++n) name = vassal + ":zerg:" + std::to_string(n);
  std::string best;
  double best_load = std::numeric_limits<double>::max();
  for (const auto& [m, rec] : lord.members) {
    if (occupied.count(m) || !eligible(m, name, now)) continue;
    const double load = load_of(m, 1);
    if (load < best_load) best_load = load, best = m;
  }
  if (best.empty()) return;
  table.placed[name] = {best};
  lord.pending[{best, name}] = now + p.start_timeout;
  lord.changed = true;
}

}  // namespace brood::legion

#pragma once
// The state behind placement.hpp, shared by its member side (placement_member.cpp) and its lord
// side (placement_lord.cpp). Not a public header.
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "brood/legion/placement.hpp"

namespace brood::legion {

using time_point = placement_clock::time_point;

// The lord's files' small helpers: whether `members` holds `m`, taking `m` out, a catalog entry.
inline bool holds_member(const std::vector<std::string>& members, const std::string& m) {
  return std::find(members.begin(), members.end(), m) != members.end();
}
inline void drop_member(std::vector<std::string>& members, const std::string& m) {
  members.erase(std::remove(members.begin(), members.end(), m), members.end());
}
inline const vassal_spec* spec_in(const placement_table& t, const std::string& vassal) {
  for (const vassal_spec& s : t.catalog)
    if (s.name == vassal) return &s;
  return nullptr;
}

// The member side: what this member runs and its lease.
struct member_side {
  std::string lord;  // whom reports go to (empty: none known)
  std::uint64_t epoch_seen = 0;
  std::pair<std::uint64_t, std::uint64_t> applied{0, 0};  // (epoch, version) of `assigned`
  std::set<std::string> assigned;
  time_point lease_until{};     // may run `assigned` before this; fenced from it on
  std::uint64_t lease_ref = 0;  // the report whose ack gave lease_until
  std::uint64_t next_ref = 1;
  std::deque<std::pair<std::uint64_t, time_point>> sent;  // reports awaiting an ack
  time_point next_report{};
  std::set<std::string> running, starting, stopping, killing;
  std::map<std::string, time_point> failed;  // vassal -> when; not started again before memory
  std::set<std::string> failed_unreported;
  std::map<std::string, std::uint64_t> sos;  // vassal -> ref of the first report with it (0: none)
  std::set<std::string> retired;  // assigned zergs that stopped by themselves: not restarted
  // Vassals an adopted table showed leaving this member (a planned hand-over): their next stop is
  // its end (placement_action::handed_to), unless a later table keeps them here (aborted).
  std::set<std::string> leaving_me;
};

// What the lord knows of one member.
struct member_record {
  bool reported = false;  // a report reached this lord in its current term
  time_point last_report{};
  std::uint32_t capacity = 0;
  std::set<std::string> running, starting;
  std::set<std::string> stopping;  // alive there, being stopped or killed (its last report)
  time_point lease_deadline{};     // may hold a lease on its vassals until then
  std::uint64_t last_ref = 0;      // of its last report (a lower one: the member restarted)
  std::uint64_t acked_ref = 0;     // the highest report ref this lord acknowledged
  // acked_ref when this lord last expired the member: a report whose lease_ref is not above it
  // runs under a lease that is over (the member fenced): its running/starting are not taken.
  std::uint64_t dead_ref = 0;
  // The version of this term's table its last report said it holds (0: an older term's).
  std::uint64_t version = 0;
};

// The lord side, valid while this member is lord.
struct lord_side {
  bool active = false;
  std::uint64_t epoch = 0;
  time_point since{};
  // Quiet: the first moments of a term. Acks give each member exactly what it reports running,
  // and reports bring newer tables in, until every member reported or quiet_until passed (by
  // then no unreported member holds a lease); then the table is rebuilt and placement starts.
  bool quiet = true;
  time_point quiet_until{};
  std::pair<std::uint64_t, std::uint64_t> base{0, 0};  // (epoch, version) the table came from
  std::map<std::string, member_record> members;
  std::map<std::pair<std::string, std::string>, time_point> refused;  // (member, vassal) -> until
  std::map<std::pair<std::string, std::string>, time_point> pending;  // placed, not running yet
  // A balancing move announced, its new copy not placed yet: vassal -> (new member, the table
  // version before the announcement). The new copy is placed once the old member reports a
  // newer version: it knows the vassal leaves it before the new copy can start, so its copy's
  // end is a hand-over's even when it is cut at once.
  std::map<std::string, std::pair<std::string, std::uint64_t>> moving;
  bool changed = false;
};

struct placement::state {
  placement_params p;
  placement_table table;
  member_side me;
  lord_side lord;
  std::vector<placement_outgoing> out;
  std::vector<placement_action> actions;
  std::vector<std::string> decisions;  // the lord's, since take_decisions()

  void decide(std::string line) { decisions.push_back(std::move(line)); }

  // placement_member.cpp
  void send_report(time_point now);
  void on_ack(const placement_message& m, time_point now);
  void on_assign(const placement_message& m, time_point now);
  void adopt_table(const placement_table& t);
  void apply_assignment(std::uint64_t epoch, std::uint64_t version,
                        const std::vector<std::string>& assigned);
  void reconcile(time_point now);
  bool is_fenced(time_point now) const { return now >= me.lease_until; }
  void deliver(placement_message m, const std::string& to, time_point now);

  // placement_lord.cpp
  void become_lord(std::uint64_t epoch, time_point now);
  void on_report(const placement_message& m, time_point now);
  void lord_step(time_point now);
  void end_quiet(time_point now);
  void expire_members(time_point now);
  void settle(time_point now);
  void finish_handovers();
  void start_moves(time_point now);
  std::vector<std::string> exiting_on(const std::string& vassal, time_point now) const;
  void place_missing(time_point now);
  void balance(time_point now);
  // placement_broodlord.cpp
  void on_sos(const std::string& member, const std::string& vassal, time_point now);
  void drop_retired_zergs(const std::string& member, const member_record& rec);
  // placement_lord.cpp
  bool known(const std::string& name) const;  // in the catalog, or a zerg of a [zerg] vassal
  std::size_t count_on(const std::string& member) const;
  double load_of(const std::string& member, std::size_t extra) const;
  bool eligible(const std::string& member, const std::string& vassal, time_point now) const;
  // The eligible member with the lowest load once it takes `vassal` ("" none).
  std::string best_for(const std::string& vassal, time_point now) const;
  std::vector<std::string> assignment_of(const std::string& member) const;
  void broadcast_assignments(time_point now);

  std::chrono::nanoseconds member_grace() const;  // min(kill_grace, lease * (1 - drift) / 2)
  std::chrono::nanoseconds member_lease() const;  // lease * (1 - drift) - member_grace
  std::chrono::nanoseconds lord_wait() const;     // lease + kill_grace - member_grace
  time_point lord_deadline() const;               // the lord's next expiry, timeout or quiet end
};

}  // namespace brood::legion

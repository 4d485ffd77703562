#pragma once
// The placement of a shared directory's vassals over a legion's emperors (uWSGI's RFC #314): a
// pure state machine per member (no I/O, no clock of its own), like election.hpp. The runtime
// feeds it the election's lord changes, the lord's directory scan, the placement messages of the
// other members and the state of its own vassals, each with the time; it sends what the machine
// asks and starts/stops the vassals it is told to.
//
// The rules (docs/architecture.md §6 "Placement"):
// - The table maps each vassal file to the members that run its copies (`replicas`, default 1,
//   never two copies on one member). The lord owns it; every change bumps `version` and goes to
//   every member with the lord's epoch, so every member keeps a copy and a new lord starts from
//   it. A member applies a table or an assignment only from an epoch >= the highest it saw and,
//   within an epoch, a higher version.
// - Every `report_every` each member reports to the lord it knows (what it runs, what failed to
//   start, its capacity, the table version it holds) with a fresh `ref`. The lord answers with an
//   ack naming the ref, its epoch and the member's assignment. The ack is the member's lease: it
//   may run its assigned vassals until `lease * (1 - drift) - g` after it SENT that report (g:
//   kill_grace, at most half of lease * (1 - drift)); at that moment (fenced) it kills every
//   vassal of the legion, and starts them again only under a new ack. The lord counts a member's
//   lease as lasting `lease + kill_grace - g` after it SENT the last ack; only then may it place
//   that member's vassals elsewhere. A new lord counts every member's lease as lasting that long
//   after it became lord. A report sent under a lease the lord already counted as over
//   (`lease_ref` not above the refs it had acked when it expired the member) runs nothing.
// - Placement: a vassal copy with no member goes to the eligible member (alive: its lease holds;
//   under its capacity; running no copy of that vassal; not refusing it) with the lowest
//   (assigned + 1) / weight, weight = capacity or 1, ties by address. A member that reports a
//   vassal failed, or does not run it within `start_timeout`, refuses it for `failure_memory`;
//   the copy goes to the next member (after a timeout as a planned hand-over: the slow start may
//   still come up, and its member holds a lease on the copy until it hears).
// - Balance: when no placement is in flight, one vassal at a time moves from the most to the
//   least loaded member if that narrows the spread; the copy is started on the new member before
//   the old one is told to stop it (a planned hand-over, the only time one copy runs twice).
// - Safety: a copy is placed on a member only when no other member holds a lease on it, so
//   outside a hand-over no vassal runs on two members at the same moment, whatever the cuts,
//   delays, losses, duplicates or lord changes.
// - Broodlord across the legion: a member's report carries the SOS of its vassals (sos()). The
//   lord, when its `broodlord` is > 0 and the vassal's file has a [zerg] section (`zerg` in the
//   catalog), adds one zerg entry "NAME:zerg" (or "NAME:zerg:2", ... the lowest free) on the
//   least-loaded eligible member that runs no copy and no zerg of NAME, unless `broodlord` zerg
//   entries exist in all or a zerg of NAME is still starting (one per SOS, one at a time per
//   vassal, as a single emperor does). A zerg entry is never placed again: it goes from the table
//   when its member reports it no longer running (it retired on idle), failed, or lost, and when
//   NAME leaves the catalog; balance never moves it. A member does not restart a zerg of its
//   assignment that stopped by itself.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace brood::legion {

using placement_clock = std::chrono::steady_clock;

// One vassal file of the shared directory.
struct vassal_spec {
  std::string name;            // the file name ("app.ini")
  std::uint32_t replicas = 1;  // `legion-replicas` in the file
  bool zerg = false;           // the file has a [zerg] section: SOS may start zergs
  friend bool operator==(const vassal_spec&, const vassal_spec&) = default;
};

// The lord's table: vassal name -> the members (addresses) that run or are to run a copy.
struct placement_table {
  std::uint64_t epoch = 0;    // the lord's epoch that wrote it
  std::uint64_t version = 0;  // bumped by every change within an epoch
  std::vector<vassal_spec> catalog;
  std::map<std::string, std::vector<std::string>> placed;
  // A hand-over in progress: vassal -> the member that will stop its copy once the new one runs.
  std::map<std::string, std::string> leaving;
  friend bool operator==(const placement_table&, const placement_table&) = default;
};

struct placement_params {
  std::string self;                  // this member's address
  std::vector<std::string> members;  // every configured address, self included
  std::uint32_t capacity = 0;        // `legion-max-vassals` of this member (0: no limit)
  std::chrono::milliseconds report_every{100};
  std::chrono::milliseconds lease{3000};
  std::chrono::milliseconds kill_grace{500};
  std::chrono::milliseconds start_timeout{10000};
  std::chrono::milliseconds failure_memory{30000};
  double drift = 0.05;
  bool balance = true;
  std::uint32_t broodlord = 0;  // emperor-broodlord: zerg entries in all when lord (0: none)
};

enum class placement_kind : std::uint8_t {
  report = 1,  // member -> lord: running, failed, capacity, table version; `ref`
  ack = 2,     // lord -> member: the answer to report `ref`; `assigned`; `table` when newer
  assign = 3,  // lord -> member: a changed assignment (no lease), `table`
};

struct placement_message {
  placement_kind kind = placement_kind::report;
  std::string from;  // the sender's address
  std::uint64_t epoch = 0;
  std::uint64_t ref = 0;
  std::uint64_t version = 0;  // report: the table version the member holds; ack/assign: the lord's
  std::uint32_t capacity = 0;
  // report: the ref of the report whose ack gave the member the lease it runs its vassals under
  // (0: none). A lord that counted that lease as over (it expired the member after acking it)
  // takes `running`/`starting` as empty: the member fenced itself before then, whatever a late
  // report (held by ZeroMQ during a cut, delivered after the heal) still says.
  std::uint64_t lease_ref = 0;
  std::vector<std::string> running;   // report: confirmed running
  std::vector<std::string> starting;  // report: started, not yet confirmed
  // report: being stopped or killed here and not yet exited (neither running nor starting). The
  // lord places no new copy of these until they are gone: a quiet lord rebuilt its table from a
  // member's report sent while its fence's kills were under way, and a copy started elsewhere
  // ran beside the dying one (an overlap of 11 ms measured with etcd, kills taking up to
  // 0.3-0.6 s at load 18).
  std::vector<std::string> stopping;
  std::vector<std::string> failed;    // report: vassals that failed to start since the last ack
  std::vector<std::string> sos;       // report: vassals that asked for reinforcements since then
  std::vector<std::string> assigned;  // ack/assign: the recipient's whole assignment
  std::optional<placement_table> table;
};

struct placement_outgoing {
  std::string to;
  placement_message msg;
};

// What the owner (the emperor) must do with its own vassals.
struct placement_action {
  enum class kind { start, stop, kill } what = kind::start;  // kill: fenced, at once
  std::string vassal;
  // stop (or kill, when the member fenced before it heard the new copy runs): the end of a
  // planned hand-over (a table this member adopted showed the vassal
  // leaving it; the lord takes the old member out only once the new copy runs): the members the
  // newest table places the vassal on instead. Empty for any other stop. The owner logs it, so a
  // hand-over is told from a double run by the member itself, not by watching tables. A kill
  // of a copy whose move only was announced (the member fenced before it heard where the new
  // copy went) names "the member the lord chooses".
  std::vector<std::string> handed_to;
  // kill (fenced): the new copy of a hand-over that this member was cut from before it heard the
  // hand-over end: the old member, whose copy the lord keeps once this member's lease is over
  // (the hand-over is off). Empty for any other kill. Logged too, for the same reason.
  std::string handed_from;
};

// The owner's report on one of its legion vassals.
enum class vassal_state { running, failed, stopped };

// The base vassal of a zerg entry ("app.ini" for "app.ini:zerg" or "app.ini:zerg:2"), "" when
// `name` is not one.
std::string zerg_base(const std::string& name);

class placement {
 public:
  placement(placement_params params, placement_clock::time_point now);
  ~placement();
  placement(placement&&) noexcept;
  placement& operator=(placement&&) noexcept;

  // From the election: the current lord's address (empty: none known), whether it is this
  // member, and the epoch.
  void lord_changed(const std::string& lord, bool i_am_lord, std::uint64_t epoch,
                    placement_clock::time_point now);
  // Lord only (ignored otherwise): the vassal files of the shared directory, after each scan.
  void set_catalog(std::vector<vassal_spec> catalog, placement_clock::time_point now);
  // A placement message from another member (authenticated by the runtime).
  void receive(const placement_message& m, placement_clock::time_point now);
  // What became of one of this member's vassals.
  void local_state(const std::string& vassal, vassal_state s, placement_clock::time_point now);
  // One of this member's running vassals (not a zerg) sent an SOS: told to the lord in the next
  // report.
  void sos(const std::string& vassal, placement_clock::time_point now);
  void tick(placement_clock::time_point now);

  placement_clock::time_point next_deadline() const;
  // When this member fences (its lease ends while it runs, starts or stops something), else
  // time_point::max(): the moment its owner's thread must not be blocked past.
  placement_clock::time_point fence_at() const;
  std::vector<placement_outgoing> take_outgoing();
  std::vector<placement_action> take_actions();
  // The lord's decisions since the last call, one line each, for its log: a copy placed on a
  // member (and how many it holds then), a lost member's copies released, a start that did not
  // come up in time moved or dropped, a balancing move announced or called off.
  std::vector<std::string> take_decisions();

  const placement_table& table() const noexcept;       // the newest this member holds
  std::set<std::string> running() const;               // what this member runs (owner's reports)
  bool fenced(placement_clock::time_point now) const;  // no lease: runs nothing
  placement_clock::time_point lease_until() const;     // this member's lease ends then

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace brood::legion

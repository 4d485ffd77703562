#pragma once
// Between the monitor of a legion's shared directory (emperor = legion:NAME,DIR) and the
// emperor's core (docs/legion.md "Placement"): the core sees only the vassal files this member's
// placement assigns it. A file assigned and present is added; unassigned or gone, removed; an
// mtime change of a file the core runs is passed through. It also tells the placement what became
// of those vassals, from the core's records: running once ready or accepting, failed when
// throttled (waiting to respawn after a death, blacklisted), exiled or absent from DIR, stopped
// once the record of a stopped one is gone. Zergs (broodlord across the legion): a zerg entry
// "NAME:zerg[:N]" assigned here is started from NAME's file though NAME may run elsewhere
// (effect.zergs, for emperor_core::add_zerg); NAME's file removed stops it, changed reloads it;
// its record gone while it was given (it retired on idle) is reported stopped. Pure (the file
// reads are the owner's `replicas_of` and `has_zerg`). Not thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "brood/emperor/monitor.hpp"
#include "brood/emperor/vassal.hpp"
#include "brood/legion/placement.hpp"

namespace brood::emperor {

class placement_gate {
 public:
  // `replicas_of`: the file's `legion-replicas` (>= 1), read when it is added or changed.
  // `has_zerg`: the file has a [zerg] section (empty: none has).
  explicit placement_gate(std::function<std::uint32_t(const vassal_file&)> replicas_of,
                          std::function<bool(const vassal_file&)> has_zerg = {});

  // The directory monitor's changes -> the core's.
  scan_changes on_scan(const scan_changes& dir);
  // The files present now, with their replicas (sorted by name): the lord's catalog.
  std::vector<legion::vassal_spec> catalog() const;

  // One action of the placement -> the core's changes, and the names to SIGKILL at once (kill).
  struct effect {
    scan_changes changes;
    std::vector<std::string> kill;
    std::vector<std::pair<vassal_file, std::string>> zergs;  // (base's file, zerg name) to start
  };
  effect on_action(const legion::placement_action& a);

  // What changed for the placement since the last call, read from the core's records and
  // `blacklist` (each state once per change).
  std::vector<std::pair<std::string, legion::vassal_state>> states(
      const std::map<std::string, vassal>& records,
      const std::map<std::string, blacklist_entry>& blacklist);

  const std::set<std::string>& assigned() const noexcept { return assigned_; }

 private:
  void give(const std::string& name, scan_changes& out);
  void take_back(const std::string& name, scan_changes& out);

  std::vector<std::string> given_zergs_of(const std::string& base) const;

  std::function<std::uint32_t(const vassal_file&)> replicas_of_;
  std::function<bool(const vassal_file&)> has_zerg_;
  std::set<std::string> with_zerg_;  // DIR's files that have a [zerg] section
  std::map<std::string, std::pair<vassal_file, std::uint32_t>> present_;  // DIR's files, replicas
  std::set<std::string> assigned_;  // what the placement wants here
  std::set<std::string> given_;     // what the core was given (added, not removed)
  std::set<std::string> stopping_;  // removed from the core, its record not yet gone
  std::map<std::string, legion::vassal_state> reported_;
  std::vector<std::pair<std::string, legion::vassal_state>> pending_;  // reported at next states()
};

}  // namespace brood::emperor

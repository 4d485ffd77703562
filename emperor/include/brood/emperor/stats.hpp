#pragma once
// The emperor-stats JSON (docs/uwsgi-compat.md §4.6): uWSGI's field names and types, so existing
// readers work. Top level: version, pid, uid, gid, cwd, emperor (the sources), emperor_tyrant,
// throttle_level, vassals, blacklist. Per vassal: id, pid, born, last_mod, last_heartbeat, loyal,
// ready, accepting, last_loyal, last_ready, last_accepting, first_run, last_run, cursed, zerg,
// on_demand, uid, gid, monitor, respawns; when the emperor uses a fork server (or has a
// vassal-fork-base), also brood's fork server fields adopted (0/1),
// fork_server, fallback (why the latest adoption failed, "" when none), fork_base (0/1), reforks;
// at the top level also adoptions, fallbacks and retired (counts). Per blacklist entry: id,
// throttle_level, attempt, first_attempt, last_attempt.
#include <string>

#include "brood/emperor/core.hpp"
#include "brood/legion/placement_runner.hpp"

namespace brood::emperor {

std::string stats_json(const emperor_core& core);
// With `placement` (emperor = legion:NAME,DIR): also "legion_placement" {legion, lord, fenced,
// epoch, version, table {vassal: [members]}, leaving, catalog, running} (docs/legion.md).
std::string stats_json(const emperor_core& core, const legion::placement_view* placement);

}  // namespace brood::emperor

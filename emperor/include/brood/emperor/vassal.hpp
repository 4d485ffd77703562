#pragma once
// The emperor's record of one vassal, and of one blacklisted (throttled) name. Plain data, kept
// by emperor_core; stats and log lines read it.
#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include "brood/emperor/launcher.hpp"
#include "brood/emperor/monitor.hpp"

namespace brood::emperor {

enum class vassal_state {
  running,    // a process is alive (spawned, maybe not yet ready)
  stopping,   // told to stop (file removed, Ragnarok); SIGKILL after curse-tolerance
  respawn,    // died unexpectedly; a new process starts at `respawn_at` (throttle)
  exiled,     // exited with status 26: not respawned until its file changes
  on_demand,  // no process: waiting for the first connection on its on-demand socket
  returning,  // told to stop (idle, 22) to go back to on_demand once it has exited
  waiting,    // adopted: waits for its starting fork base (until `wait_until`, then exec)
};

const char* to_string(vassal_state s) noexcept;

struct vassal {
  using clock = std::chrono::steady_clock;

  vassal_file file;
  vassal_state state = vassal_state::running;
  std::unique_ptr<vassal_process> process;   // null when no process is alive
  std::unique_ptr<on_demand_socket> socket;  // on-demand vassals only
  // Wall-clock times (seconds since the epoch, 0: never), as uWSGI's stats show them.
  std::time_t born = 0;      // first spawn of this record
  std::time_t last_run = 0;  // latest spawn
  std::time_t last_ready = 0, last_accepting = 0, last_loyal = 0, last_heartbeat = 0;
  std::time_t cursed = 0;                                // when it was told to stop (0: not cursed)
  bool ready = false, accepting = false, loyal = false;  // of the current process
  unsigned respawns = 0;                                 // processes started after the first
  // Broodlord (docs/uwsgi-compat.md §5.1). A zerg's record runs the `[zerg]` section of the file
  // of the vassal named `zerg_of` (its `file` is that vassal's, under the zerg's own name).
  std::string zerg_of;       // "" for a vassal; the base vassal's name for a zerg
  unsigned zerg_number = 0;  // zergs: UWSGI_BROODLORD_NUM, 1 for the emperor's first zerg
  // The reason of the last SOS refusal logged for this vassal (one line per streak of refused
  // SOS with the same reason); "" after an accepted SOS and for a new process.
  std::string sos_refused;
  // Fork server (docs/uwsgi-compat.md §17.2).
  bool fork_base = false;       // a vassal-fork-base vassal: always exec'd
  bool adopted = false;         // the current process was forked by a fork server
  std::string fork_server;      // the fork server it is (to be) adopted from; "" : exec'd
  std::string fallback;         // why the latest adoption failed and it was exec'd ("" : none)
  unsigned reforks = 0;         // rolling re-forks completed
  bool refork_pending = false;  // a base restarted on a file change: re-fork once it is ready
  // A rolling re-fork's new process, serving the same sockets, until it sends ready (1).
  std::unique_ptr<vassal_process> successor;
  // Monotonic deadlines.
  clock::time_point wait_until{};     // waiting: exec after this
  clock::time_point successor_due{};  // the successor gets SIGKILL if not ready by then
  clock::time_point heartbeat_due{};  // SIGKILL after this (only once a heartbeat arrived)
  clock::time_point kill_at{};        // stopping: SIGKILL after this
  clock::time_point respawn_at{};     // respawn: start the next process at this time
  clock::time_point spawned_at{};     // the current process's start
};

// A name that died without ever becoming loyal (the crash-loop blacklist, uWSGI's
// emperor_throttle). Cleared when the vassal sends loyal (17), on SIGURG, and never used with
// emperor-no-blacklist.
struct blacklist_entry {
  std::string name;
  unsigned attempts = 0;                 // deaths counted so far
  std::chrono::milliseconds throttle{};  // the current delay before the next spawn
  std::time_t first_attempt = 0, last_attempt = 0;
};

}  // namespace brood::emperor

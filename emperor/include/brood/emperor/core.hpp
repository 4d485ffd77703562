#pragma once
// The emperor's state machine (docs/protocol.md §11 and docs/uwsgi-compat.md §4.4): one record per
// vassal (vassal.hpp), one handler per event, every effect on the OS through process_launcher. It
// never reads a clock: each event carries the moment it happened, and the owner calls on_tick() at
// next_deadline(). That makes every rule testable with fake processes and fake time
// (tests/emperor).
//
// Rules:
//  * scan: an added file spawns its vassal (an on-demand one binds its socket and waits); a
//    changed file reloads a running vassal (byte 1) and restarts a throttled or exiled one now;
//    a removed file stops the vassal (byte 0, or 2 with emperor-graceful-shutdown), SIGKILL after
//    emperor-curse-tolerance, and the record goes when the process has exited.
//  * messages: 1 ready, 5 accepting, 17 loyal (clears its blacklist entry), 26 heartbeat (from
//    then on a silence longer than emperor-required-heartbeat gets SIGKILL), 22 idle (an on-demand
//    vassal is stopped and goes back to waiting for a connection; a zerg is stopped and its
//    record goes; another one is stopped and stays down until its file changes), 2 is logged (no
//    pushed config), 30 is an SOS (broodlord, below).
//  * broodlord (emperor-broodlord N > 0; docs/uwsgi-compat.md §5.1): an SOS from a running vassal
//    NAME (not a zerg) adds one zerg record, "NAME:zerg" or, when that name is taken,
//    "NAME:zerg:2", "NAME:zerg:3"... (the lowest free), running `--ini FILE:zerg` through the
//    same spawn path as a vassal (never on demand). An SOS is refused, and logged once per
//    streak of the same reason, when broodlord is off, when N zergs exist in all, while a zerg of
//    NAME is still starting (not ready and not accepting, or waiting to be respawned), and during
//    Ragnarok: at most one zerg starts per SOS, and one per vassal at a time. A zerg follows the
//    vassal rules (respawn, throttle) except that 22 stops it for good and status 26 removes it;
//    its base file's removal stops all of NAME's zergs and a change reloads them (byte 1) or
//    restarts a throttled one now. The zerg count is the number of zerg records.
//  * an unexpected exit: status 26 exiles the vassal (no respawn until its file changes); a vassal
//    that was loyal is respawned at once; one that never was is blacklisted and respawned after
//    emperor-throttle, doubling per death up to emperor-max-throttle (one log line per attempt),
//    or at once with emperor-no-blacklist. An on-demand vassal goes back to waiting.
//  * a channel EOF from a live process: it is cursed (SIGKILL after curse-tolerance unless it
//    exits); its exit is then handled as above.
//  * fork server (docs/uwsgi-compat.md §17.2): a vassal with a fork server (its file's
//    emperor-fork-server-attr, else emperor-use-fork-server) that is not a vassal-fork-base is
//    adopted (process_launcher::adopt) and then managed exactly like a spawned one; bases found by
//    a scan start first. While a base that may serve its fork server (its `serves` is that path
//    or unknown) is starting (spawned and not ready, or restarting), it waits (state waiting) and
//    starts when the base is ready, or is exec'd after fork_base_wait. A failed adoption is
//    logged and the vassal exec'd at once (stats: adopted 0 and the reason in "fallback").
//  * a base's changed file, and SIGHUP, restart it (stop, then start; not byte 1). Once the
//    restarted base is ready, the vassals adopted from it before are re-forked one at a time:
//    the old process's listening sockets are taken (vassal_process::listening_sockets) and sent
//    as inherited sockets; when the new process sends ready, the old one gets hand_over (3) and
//    is retired: reaped without respawn, SIGKILL after emperor-curse-tolerance. If the new
//    process dies, closes its channel or is not ready within refork_ready (SIGKILL), or its
//    adoption fails, the old one keeps serving and the next vassal is re-forked. Whenever a base
//    sends ready, the vassals that were exec'd because it failed (and are ready) are moved to it
//    the same way. A fork server that timed out is not asked for hung_fork_server (exec at
//    once), or until a base that may serve it is ready.
//  * stop_all (INT/TERM/QUIT): every vassal is told to stop, SIGKILL after `mercy`; finished()
//    once every process has exited. reload_all (HUP): byte 1 to every running vassal but the
//    bases, which restart (above).
// Not thread-safe.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "brood/emperor/config.hpp"
#include "brood/emperor/launcher.hpp"
#include "brood/emperor/monitor.hpp"
#include "brood/emperor/vassal.hpp"

namespace brood::emperor {

// When an event happened: the monotonic time for deadlines, the wall time for stats.
struct moment {
  std::chrono::steady_clock::time_point mono;
  std::time_t wall = 0;
  static moment now() noexcept;
};

class emperor_core {
 public:
  // `self_exe`: the program run when emperor-wrapper is not set. `environment`: the emperor's
  // environment ("K=V"), for the UWSGI_VASSAL_* rules. `launcher` must outlive the core.
  emperor_core(emperor_config cfg, process_launcher& launcher, std::string self_exe,
               std::vector<std::string> environment);

  // Events.
  void on_scan(const scan_changes& changes, const moment& now);
  void on_message(pid_t pid, std::uint8_t byte, const moment& now);
  void on_channel_closed(pid_t pid, const moment& now);
  void on_exit(pid_t pid, int wait_status, const moment& now);  // a reaped vassal process
  void on_demand_connection(const std::string& name, const moment& now);
  void on_tick(const moment& now);  // runs what is due: respawns, curse and heartbeat kills
  // SIGKILL at once (a fenced legion placement, docs/legion.md "Placement"): the record goes
  // when the process has been reaped (at once when it has none); no respawn.
  void kill_now(const std::string& name, const moment& now);
  // Broodlord across a legion (docs/legion.md "Placement"): starts the zerg `name` of `base`
  // (`--ini PATH:zerg`) though `base` runs on another member; it is then an ordinary zerg record
  // (removed by on_scan's `removed`, gone for good on 22). False (logged) when `name` is taken.
  bool add_zerg(const vassal_file& base, const std::string& name, const moment& now);
  // An SOS from a running vassal (not a zerg) goes to `handler` instead of starting a local zerg
  // when it returns true (the vassal is placed by a legion). Empty: every SOS is local.
  void set_sos_handler(std::function<bool(const std::string& vassal)> handler) {
    sos_handler_ = std::move(handler);
  }
  void stop_all(const moment& now);  // Ragnarok; later scans spawn nothing
  void reload_all(const moment& now);
  void clear_blacklist();  // SIGURG

  // The earliest moment on_tick() has something to do; nullopt when nothing is pending.
  std::optional<std::chrono::steady_clock::time_point> next_deadline() const;
  // After stop_all(): true once every vassal process has exited.
  bool finished() const noexcept { return stopping_all_ && vassals_.empty() && retired_.empty(); }
  bool stopping_all() const noexcept { return stopping_all_; }

  // One line per vassal: name, state, pid, ready/loyal, respawns (the USR1 log).
  std::string describe() const;
  const std::map<std::string, vassal>& vassals() const noexcept { return vassals_; }
  const std::map<std::string, blacklist_entry>& blacklist() const noexcept { return blacklist_; }
  const emperor_config& config() const noexcept { return cfg_; }
  // Zerg records (every state), the number emperor-broodlord limits.
  std::size_t zerg_count() const noexcept;
  // Retired processes (rolling re-fork) not yet reaped, by pid: the vassal's name.
  std::map<pid_t, std::string> retired() const;
  // Adoptions and fallbacks to exec since the start (stats).
  unsigned adoptions() const noexcept { return adoptions_; }
  unsigned fallbacks() const noexcept { return fallbacks_; }

 private:
  // Per-event helpers (core_*.cpp).
  void add(const vassal_file& f, const moment& now);
  void change(const vassal_file& f, const moment& now);
  void remove(const std::string& name, const moment& now);
  void spawn(vassal& v, const moment& now) { spawn_as(v, now, spawn_mode::normal); }
  enum class spawn_mode { normal, no_wait };
  void spawn_as(vassal& v, const moment& now, spawn_mode mode);
  launch_spec command_of(const vassal& v) const;
  // spawn(), or for an on-demand vassal: bind/arm its socket and wait for a connection.
  void start(vassal& v, const moment& now);
  void tell_to_stop(vassal& v, vassal_state next, const moment& now);
  void on_idle(vassal& v, const moment& now);
  void after_unexpected_exit(vassal& v, int wait_status, const moment& now);
  void throttle(vassal& v, const std::string& why, const moment& now);
  vassal* by_pid(pid_t pid);
  // Erases a record (a zerg's blacklist entry with it, its name may be reused); returns the next.
  std::map<std::string, vassal>::iterator forget(std::map<std::string, vassal>::iterator it);

  // Fork server (core_fork.cpp).
  bool is_fork_base(const std::string& name) const;
  std::string fork_server_of(const vassal& v) const;
  const vassal* starting_base(const std::string& fork_server) const;
  bool base_serves(const vassal& base, const std::string& fork_server) const;
  void on_base_ready(vassal& base, const moment& now);
  void restart_base(vassal& base, const std::string& why, const moment& now);
  void refork_next(const moment& now);
  bool on_successor_message(vassal& v, pid_t pid, std::uint8_t byte, const moment& now);
  bool on_successor_exit(vassal& v, pid_t pid, const moment& now);
  void retire(vassal& v, std::unique_ptr<vassal_process> p, wire::emperor_command c,
              const moment& now);
  void drop_successor(vassal& v, const std::string& why, const moment& now);
  bool on_retired_exit(pid_t pid, int wait_status);

  // Broodlord (core_broodlord.cpp).
  void on_sos(vassal& v, const moment& now);
  std::string sos_refusal(const vassal& v) const;
  void refuse_sos(vassal& v, const std::string& why);
  vassal& new_zerg(const vassal_file& base, const std::string& name);
  void start_zerg(const vassal& base, const moment& now);
  void stop_zergs(const std::string& base, const moment& now);
  void reload_zergs(const vassal_file& base, const moment& now);
  const vassal* starting_zerg(const std::string& base) const;
  std::string free_zerg_name(const std::string& base) const;

  emperor_config cfg_;
  process_launcher& launcher_;
  std::string self_exe_;
  std::vector<std::string> environment_;
  std::map<std::string, vassal> vassals_;
  std::map<pid_t, std::string> pids_;  // live process -> vassal name
  std::map<std::string, blacklist_entry> blacklist_;
  bool stopping_all_ = false;
  unsigned zergs_started_ = 0;  // UWSGI_BROODLORD_NUM of the latest zerg (never decremented)
  std::function<bool(const std::string&)> sos_handler_;
  struct retired_process {
    std::string name;
    std::unique_ptr<vassal_process> process;
    std::chrono::steady_clock::time_point kill_at;
  };
  std::map<pid_t, retired_process> retired_;  // handed over, reaped without respawn
  // Fork servers that timed out: skipped (exec at once) until this moment or until a base
  // serving them sends ready, so a hung base does not stall the emperor once per vassal.
  std::map<std::string, std::chrono::steady_clock::time_point> hung_until_;
  std::deque<std::string> refork_queue_;  // vassals to re-fork, one at a time
  std::string reforking_;                 // the vassal whose successor is starting
  unsigned adoptions_ = 0, fallbacks_ = 0;
};

}  // namespace brood::emperor

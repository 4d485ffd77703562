#pragma once
// The node master's state machine: its workers and spooler processes (one process_pool each),
// one handler per event, every effect on processes through master_launcher. It never reads a
// clock: each event carries the moment it happened, and the owner (master.hpp) calls on_tick()
// at next_deadline(). That makes every rule testable with fake processes and fake time
// (tests/node/master_core_test.cpp).
//
// Rules:
//  * start: the spooler processes (one per spooler board slot), then workers 1..N of generation
//    0. "node ready" (and byte 1 to the emperor) once every worker slot has a process.
//  * a worker that exits unasked is respawned: at once, unless it keeps dying sooner than 1 s
//    after its spawn (respawn_backoff.hpp: 100 ms doubling up to 4 s). A failed fork is retried
//    after 1 s. A spooler process likewise; one that ended with status 0 is respawned at once.
//  * reload (SIGHUP, emperor byte 1): a new generation of workers is spawned first, then the old
//    one gets SIGTERM (SIGKILL after reload-mercy); "workers reloaded" (and byte 1 to the
//    emperor) once every old worker has exited. Each spooler process gets SIGTERM and is spawned
//    again once it has exited. Ignored while stopping.
//  * graceful stop (SIGINT/TERM/QUIT, emperor byte 2): no respawn any more; SIGTERM to every
//    process, SIGKILL after reload-mercy. A second stop signal: SIGKILL to every process now.
//  * hand over (emperor byte 3, brood): a graceful stop, after which the node leaves its unix
//    socket files in place (handed_over()): a successor already serves them. Ignored (the stop
//    goes on as it was) when the node is already stopping.
//  * stop now (emperor byte 0, the emperor lost): SIGKILL to every process now; exit status 1
//    when the emperor is lost.
//  * spooler-harakiri: every second, a spooler process whose task outlived its deadline gets
//    SIGKILL (once per process).
//  * worker lifetime (master_core_lifetime.cpp, brood/node/lifetime_config.hpp): every second,
//    and at the moment a request seen in flight would reach `harakiri`, a worker in one request
//    longer than harakiri gets SIGKILL (logged with the request's summary, counted in its
//    scoreboard slot) and is respawned; a worker older than max-worker-lifetime (+ id * delta)
//    gets SIGTERM; every mem-collector-freq a worker above an evil-reload-on-* limit gets
//    SIGKILL. A recycled worker is replaced at once, without the crash-loop backoff: its
//    successor is spawned when the recycle starts (max-worker-lifetime: before the SIGTERM; a
//    worker's own recycle, max-requests and reload-on-*: at its recycle event), or when it is
//    reaped with a reason in its slot (an evil reload, a recycle reaped before its event).
//  * finished() once stopping and every process has exited.
//  * cheaper (cfg.cheaper.enabled()): workers 1..cheaper-initial start, the other slots are
//    cheaped. The algorithm (cheaper_algorithm.hpp) runs every check-interval, and brood's also
//    on a pressure event (the last idle worker took a request) and when it asks to (recheck).
//    Before it: at or above cheaper-rss-limit-hard one worker is cheaped, at or above -soft
//    nothing is spawned; a FIFO +/- is applied instead of the algorithm. A spawn takes the
//    cheaped slots in id order; a cheap takes idle workers only, the oldest spawn first: the
//    worker gets SIGTERM, stops accepting, finishes what it holds and exits (no request is
//    cut); it is not respawned. A worker that dies unasked is respawned as before.
//  * idle (cfg.idle): with no request in flight and none ended for more than `idle` (the
//    workers record each end; the core looks again at that moment), every worker is cheaped (cheap
//    mode) and the master waits for a connection (master_launcher::wait_for_connection); the first
//    one wakes the node: `cheaper` workers (or every slot without cheaper) are spawned and take it
//    from the listen queue. With die-on-idle the node instead asks its emperor to stop it (byte
//    22), or stops by itself (exit status 0) when it has no emperor. While cheap, the master sends
//    the heartbeats its workers would send.
//  * SOS (vassal-sos, vassal-sos-backlog): checked at every check, at every pressure event and
//    every 100 ms while every worker is busy; an SOS (byte 30) is sent when every slot has been
//    busy for vassal-sos, or the listen queue holds vassal-sos-backlog connections. After one
//    SOS the next waits for a zerg to attach (on_zerg_attached) or for 5 s: no SOS storm.
//  * subscriptions (cfg.subscribe, master_core_subscribe.cpp): one round of datagrams
//    (master_launcher::send_subscriptions) when the workers start, one second later, then every
//    subscribe_freq after the start; none while paused, blocked (FIFO S, start-unsubscribed) or
//    stopping. A withdrawal round on a stop (graceful or not), on pause (the resume announces
//    again) and, with unsubscribe_on_graceful_reload, on a graceful reload (announced again once
//    the reload completed). FIFO S toggles the block; unblocking announces at once.
//  * pause (FIFO p): SIGSTOP to every worker, SIGCONT on the next p; no cheaper decision while
//    paused. A chain reload (FIFO c) replaces the workers one slot at a time: the next slot
//    only once the new worker of the previous one is accepting.
// The scoreboard: the core records each worker's spawn, stop, cheap and exit in it (the workers
// record their requests), and reads it for the cheaper algorithms, idle and the chain reload.
// Not thread-safe.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/wire/emperor_protocol.hpp"
#include "cheaper_algorithm.hpp"
#include "master_launcher.hpp"
#include "process_pool.hpp"
#include "scoreboard.hpp"

namespace brood::node {

// When an event happened: the monotonic time for deadlines, the wall time for the scoreboard.
struct moment {
  std::chrono::steady_clock::time_point mono;
  std::time_t wall = 0;
  std::int64_t wall_us = 0;      // the same wall time in unix µs (the scoreboard's request clock)
  static moment now() noexcept;  // the owner's; master_core never calls it
};

struct master_core_config {
  unsigned workers = 1;      // worker slots (ids 1..workers); at least 1
  unsigned threads = 1;      // cores of each worker (logged)
  std::size_t spoolers = 0;  // spooler board slots
  std::chrono::milliseconds reload_mercy{60000};
  std::chrono::seconds spooler_harakiri{0};  // 0: off
  cheaper_config cheaper;                    // enabled(): adaptive pool
  std::chrono::milliseconds check_interval{1000};
  std::chrono::seconds idle{0};  // 0: never idle
  bool die_on_idle = false;
  // heartbeat: the workers send it; in cheap mode (no worker) the master sends it instead.
  std::chrono::seconds heartbeat{0};
  std::chrono::seconds vassal_sos{0};  // SOS once every slot is busy this long; 0: off
  unsigned vassal_sos_backlog = 0;     // SOS while this many connections wait; 0: off
  lifetime_config lifetime;            // harakiri, max-worker-lifetime, evil-reload-on-*
  bool subscribe = false;              // subscribe-to / subscribe2 targets exist
  std::chrono::seconds subscribe_freq{10};
  bool start_unsubscribed = false;
  bool unsubscribe_on_graceful_reload = false;
  // A zerg attached to its vassal's sockets (`zerg PATH`): what it announces is the vassal's
  // address, which its withdrawal would take off the router too: it never withdraws.
  bool shares_vassal_sockets = false;

  // From the node's config, with the spooler board's slot count.
  static master_core_config from(const node_config& cfg, std::size_t spooler_slots);
};

class master_core {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  // `launcher` and `board` (at least cfg.workers slots) must outlive the core.
  master_core(master_core_config cfg, master_launcher& launcher, scoreboard& board);

  // Events.
  void start_spoolers(const moment& now);  // REQUIRES: once, first
  void start_workers(const moment& now);   // REQUIRES: once, after start_spoolers
  // A reaped child. false: not a process of this core (ignored).
  bool on_exit(pid_t pid, int wait_status, const moment& now);
  void on_stop_signal(int signo, const moment& now);  // SIGINT, SIGTERM, SIGQUIT
  void on_reload_signal(const moment& now);           // SIGHUP
  void on_emperor_command(wire::emperor_command c, const moment& now);
  void on_emperor_lost(const moment& now);  // EOF on the emperor channel
  void on_tick(const moment& now);  // respawns, mercy SIGKILLs, harakiri, cheaper and idle checks
  // A worker recycles itself (the scoreboard's recycle event): its successor is spawned now.
  void on_recycling(const moment& now);
  // The last idle worker took a request (the scoreboard's pressure event).
  void on_pressure(const moment& now);
  // In cheap mode, a connection waits on a listening socket: the workers are spawned again.
  void on_connection_waiting(const moment& now);
  // A zerg took this node's sockets from its zerg server: the next SOS may follow.
  void on_zerg_attached(const moment& now);

  // Operator commands (the master FIFO).
  enum class reload_kind { graceful, brutal };
  // A reload of the workers (with `spoolers`, the spooler processes too); brutal: the old
  // workers get SIGKILL instead of SIGTERM. SIGHUP is reload(graceful, true).
  void reload(reload_kind kind, bool spoolers, const moment& now);
  void chain_reload(const moment& now);
  void shutdown(const moment& now);                  // as SIGTERM (a second one: SIGKILL now)
  void stop_brutally(const moment& now);             // as emperor byte 0, exit status 0
  void cheaper_delta(int delta, const moment& now);  // FIFO + (1) and - (-1)
  void go_cheap(const moment& now);                  // cheap mode now
  void toggle_pause(const moment& now);
  void ask_reinforcements();                     // SOS (byte 30) to the emperor
  void toggle_subscriptions(const moment& now);  // FIFO S
  void log_status() const;                       // one line per worker
  // SIGKILL to every live process now, without changing the phase (the owner's failure path).
  void kill_all_now();

  // The earliest moment on_tick() has something to do; nullopt when nothing is pending.
  std::optional<time_point> next_deadline() const;
  bool stopping() const noexcept { return stopping_; }
  bool finished() const noexcept { return stopping_ && workers_.empty() && spoolers_.empty(); }
  // The node's exit status once finished: 0, or 1 when the emperor was lost.
  int exit_status() const noexcept { return exit_status_; }
  // The emperor handed the sockets over (byte 3): keep the unix socket files when closing.
  bool handed_over() const noexcept { return handed_over_; }
  unsigned reloads() const noexcept { return reloads_; }  // also the current generation
  const process_pool& workers() const noexcept { return workers_; }
  const process_pool& spoolers() const noexcept { return spoolers_; }
  bool paused() const noexcept { return paused_; }
  bool sleeping() const noexcept { return sleeping_; }  // cheap mode
  bool subscriptions_blocked() const noexcept { return subscriptions_blocked_; }
  // The cheaper algorithm's name ("" without cheaper) and its last decision.
  const char* cheaper_name() const noexcept;
  const cheaper_decision& last_decision() const noexcept { return last_decision_; }
  std::time_t last_decision_wall() const noexcept { return last_decision_wall_; }
  std::vector<pid_t> live_pids() const;

 private:
  // Actions (master_core.cpp).
  bool spawn_worker(unsigned id, bool respawn, const moment& now);
  bool spawn_spooler(std::size_t slot, bool respawn, const moment& now);
  void announce_ready_once();
  // Stopping and reloading (master_core_stop.cpp).
  void stop_gracefully(const std::string& why, const moment& now);
  void stop_now(const std::string& why, const moment& now);
  void tell_worker_to_stop(pid_t pid, time_point deadline);
  void stop_spoolers(time_point deadline, bool restart);
  void reload_completed();
  // Worker lifetime (master_core_lifetime.cpp).
  void start_lifetime(const moment& now);
  void check_lifetime(const moment& now);
  void check_stuck(unsigned id, pid_t pid, process_pool::process& p, const moment& now,
                   time_point& next);
  void check_age(unsigned id, pid_t pid, const process_pool::process& p, const moment& now,
                 time_point& next);
  void check_memory(const moment& now);
  void worker_recycled(pid_t pid, const process_pool::exit_info& e, recycle_reason why,
                       const moment& now);
  void replace_worker(std::size_t slot, pid_t old, recycle_reason why, bool signal_it,
                      const moment& now);
  // Exits (master_core_exit.cpp).
  void worker_exited(pid_t pid, const process_pool::exit_info& e, int status, const moment& now);
  void spooler_exited(pid_t pid, const process_pool::exit_info& e, int status, const moment& now);
  // Deadlines (master_core_tick.cpp).
  void kill_past_mercy(const moment& now);
  void check_harakiri(const moment& now);
  // Cheaper (master_core_cheaper.cpp).
  void start_cheaper(const moment& now);
  void run_check(const moment& now);
  void evaluate(const moment& now, bool check);
  pool_snapshot snapshot(const moment& now);
  void apply(int workers, const moment& now);
  unsigned spawn_cheaped(unsigned n, const moment& now);
  unsigned cheap_idle(unsigned n, const moment& now);
  unsigned cheap_worker(pid_t pid, const moment& now);
  // Idle and cheap mode (master_core_idle.cpp).
  void check_idle(const moment& now);
  void enter_cheap_mode(const std::string& why, const moment& now);
  void send_heartbeat(const moment& now);
  // SOS (master_core_sos.cpp).
  bool sos_enabled() const noexcept;
  void check_sos(const moment& now);
  bool sos_allowed(const moment& now) const noexcept;
  // The chain reload's next step (master_core_idle.cpp).
  void chain_step(const moment& now);
  // Subscriptions (master_core_subscribe.cpp).
  void start_subscriptions(const moment& now);
  void check_subscriptions(const moment& now);
  void subscribe_round(const char* why);
  void unsubscribe_round(const char* why);

  master_core_config cfg_;
  master_launcher& launcher_;
  scoreboard& board_;
  process_pool workers_;   // slot i: worker id i + 1
  process_pool spoolers_;  // slot i: spooler board slot i
  bool stopping_ = false;
  bool announced_ready_ = false;
  unsigned reloads_ = 0;
  int exit_status_ = 0;
  bool handed_over_ = false;
  std::optional<time_point> harakiri_check_at_;
  std::optional<time_point> lifetime_check_at_;  // harakiri, max-worker-lifetime, evil reloads
  std::optional<time_point> memory_check_at_;    // the next evil-reload-on-* check
  // Cheaper and idle.
  std::unique_ptr<cheaper_algorithm> algo_;
  int fifo_delta_ = 0;
  cheaper_decision last_decision_;
  std::time_t last_decision_wall_ = 0;
  std::optional<time_point> check_at_;    // the next periodic check
  std::optional<time_point> recheck_at_;  // the algorithm's own
  bool sleeping_ = false;                 // cheap mode: waiting for a connection
  bool paused_ = false;
  bool asked_to_die_ = false;
  time_point idle_since_{};                  // the last activity known (start, busy, a request end)
  std::optional<time_point> idle_check_at_;  // when the node would be idle
  // The chain reload: the slot being replaced and the old process; polled until its successor
  // accepts.
  std::optional<std::size_t> chain_slot_;
  pid_t chain_old_ = 0;
  std::optional<time_point> chain_poll_at_;
  std::optional<time_point> heartbeat_at_;  // cheap mode with heartbeat: the master's next one
  // SOS.
  std::optional<time_point> all_busy_since_;  // every slot busy since then
  std::optional<time_point> last_sos_at_;
  bool zerg_since_sos_ = false;             // a zerg attached after the last SOS
  std::optional<time_point> sos_check_at_;  // while every worker is busy
  // Subscriptions.
  std::optional<time_point> subscribe_at_;  // the next periodic round
  time_point subscribe_origin_{};           // the first round: the periodic ones count from it
  unsigned subscribe_rounds_ = 0;           // periodic rounds due so far
  bool subscriptions_blocked_ = false;      // FIFO S, start-unsubscribed
  bool withdrawn_ = false;                  // withdrawn for a graceful reload or a stop
};

}  // namespace brood::node

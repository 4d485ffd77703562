#pragma once
// The node master: forks cfg.processes workers over already-bound listening sockets, respawns the
// ones that die, reloads them on SIGHUP and stops them on SIGINT/SIGTERM/SIGQUIT. A state machine
// driven by an event_loop, one handler per event:
//   signal (signalfd)      -> on_stop_signal / on_reload_signal / on_child_exit (SIGCHLD, reaped)
//   timer                  -> on_respawn_due (crash-loop backoff) / on_mercy_due (SIGKILL)
//   emperor channel        -> on_emperor (a vassal only: byte 0 stop now, 1 reload, 2 graceful
//                             stop, EOF: the emperor is lost, stop now and exit 1)
// As a vassal it sends ready (1) when all workers are spawned and after each completed reload;
// its workers send accepting, loyal and heartbeats (vassal_worker.hpp).
// Phases: running -> stopping -> (run() returns). A reload happens within `running`: the new
// generation is spawned first, then the old one is sent SIGTERM ("retiring" workers).
// The spooler processes (master_spoolers) are forked before the workers and stopped with them.
// With `stats`, the master keeps a scoreboard its workers count into and serves it as uWSGI's
// stats JSON (stats_server, master_stats.cpp).
// Not thread-safe; the master runs on the thread that calls run(), which must be the only
// thread of the process (workers are forked from it).
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/node.hpp"
#include "brood/node/router.hpp"
#include "brood/os/event_loop.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/os/stats_server.hpp"
#include "emperor_link.hpp"
#include "master_spoolers.hpp"
#include "respawn_backoff.hpp"
#include "scoreboard.hpp"

namespace brood::node {

struct worker_stats;

class master {
 public:
  // `listen_fds` stay owned by the caller and open until run() returns; workers get copies.
  // `emperor` (inactive when not a vassal) must outlive the master.
  master(const node_config& cfg, const router& r, const node_hooks& hooks,
         std::vector<int> listen_fds, emperor_link& emperor);
  // Kills (SIGKILL) and reaps the workers still alive: they never outlive the master object.
  ~master();
  master(const master&) = delete;
  master& operator=(const master&) = delete;

  // Spawns the spooler processes and the workers and manages them until the node is stopped and
  // every one is reaped. Returns the exit status of the node: 0 after a stop by signal or by the
  // emperor's command, 1 when the emperor is lost (EOF on its channel), the signals cannot be
  // watched, a spooler dir cannot be used or the loop fails. REQUIRES: called once.
  int run();

 private:
  using clock = os::event_loop::clock;
  enum class phase { running, stopping };
  struct child {  // a live worker process
    unsigned id = 0;
    clock::time_point spawned;
    bool retiring = false;                     // of an older generation, told to stop
    std::optional<clock::time_point> kill_at;  // SIGKILL after this (reload-mercy)
  };
  struct slot {     // worker id N (1-based) of the current generation
    pid_t pid = 0;  // 0: not running (respawn pending)
    respawn_backoff backoff;
    os::event_loop::timer_id respawn_timer = 0;
  };

  // Event handlers.
  void on_signals();
  void on_stop_signal(int signo);
  void on_reload_signal();
  void on_child_exit(pid_t pid, int status);
  void on_respawn_due(unsigned id);
  void on_mercy_due();
  void on_emperor();  // master_emperor.cpp
  void on_emperor_command(wire::emperor_command c);

  // Actions.
  void stop_gracefully(const std::string& why);
  void stop_now(const std::string& why);
  void reload_completed();
  bool spawn(unsigned id, bool respawn);
  int worker_body(unsigned id);
  void schedule_respawn(unsigned id, clock::duration lived);
  void tell_to_stop(pid_t pid, child& c, clock::time_point deadline);
  void arm_mercy_timer();
  void cancel_respawns();
  void announce_ready_once();
  void kill_all_now();
  // Stats (master_stats.cpp): the scoreboard and the server, when cfg.stats is set.
  bool start_stats();
  std::string stats_document();
  worker_stats worker_snapshot(unsigned id);

  bool all_stopped() const { return children_.empty() && spoolers_.none_alive(); }
  slot& slot_of(unsigned id) { return slots_[id - 1]; }

  const node_config& cfg_;
  const router& router_;
  const node_hooks& hooks_;
  std::vector<int> listen_fds_;
  os::signal_source signals_;
  os::event_loop loop_;
  master_spoolers spoolers_;
  phase phase_ = phase::running;
  std::map<pid_t, child> children_;
  std::vector<slot> slots_;
  unsigned reloads_ = 0;
  bool announced_ready_ = false;
  emperor_link& emperor_;
  int exit_status_ = 0;
  os::event_loop::timer_id mercy_timer_ = 0;
  std::unique_ptr<scoreboard> board_;         // with stats only
  std::unique_ptr<os::stats_server> stats_;   // with stats only
  std::vector<std::uint64_t> last_requests_;  // per worker id, at the previous stats document
};

}  // namespace brood::node

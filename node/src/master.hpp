#pragma once
// The node master: the shell around master_core (the state machine that decides) and
// os_master_launcher (the forks of workers and spooler processes). It owns the OS side and turns
// it into events, each carrying the moment it happened:
//   signalfd       -> SIGCHLD: every exited child reaped (waitpid) -> master_core::on_exit
//                     SIGINT/SIGTERM/SIGQUIT -> on_stop_signal; SIGHUP -> on_reload_signal
//   one timer      -> on_tick, armed at master_core::next_deadline() after every event
//   emperor link   -> on_emperor_command per byte; EOF -> on_emperor_lost (a vassal only)
//   pressure fd    -> on_pressure (the scoreboard's: the last idle worker took a request)
//   recycle fd     -> on_recycling (the scoreboard's: a worker recycles itself)
//   listen sockets -> on_connection_waiting, watched only in cheap mode
//   master FIFO    -> one core event per command byte (master_commands.cpp)
//   zerg server    -> on_zerg_attached after each zerg handed the listening sockets
//   touch-reload   -> on_reload_signal when a file's mtime changed (checked every second)
// and runs the attach-daemon commands (daemon_manager: their exits are taken out of SIGCHLD's
// before master_core sees them; stopped after the workers when the node ends).
// and serves the stats JSON (stats_server, master_stats.cpp) from the scoreboard, which is always
// kept (its workers count into it). run() returns once master_core::finished().
// Not thread-safe; the master runs on the thread that calls run(), which must be the only
// thread of the process (workers are forked from it).
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/node.hpp"
#include "brood/node/router.hpp"
#include "brood/os/event_loop.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/os/stats_server.hpp"
#include "daemon_manager.hpp"
#include "emperor_link.hpp"
#include "master_core.hpp"
#include "master_fifo.hpp"
#include "os_master_launcher.hpp"
#include "scoreboard.hpp"
#include "subscriber.hpp"
#include "touch_watch.hpp"
#include "zerg_server.hpp"

namespace brood::node {

struct worker_stats;

class master {
 public:
  // `listen_fds` stay owned by the caller and open until run() returns; workers get copies.
  // `emperor` (inactive when not a vassal) must outlive the master.
  master(const node_config& cfg, const router& r, const node_hooks& hooks,
         std::vector<int> listen_fds, emperor_link& emperor);
  // Kills (SIGKILL) and reaps the processes still alive: they never outlive the master object.
  ~master();
  master(const master&) = delete;
  master& operator=(const master&) = delete;

  // Spawns the spooler processes and the workers and manages them until the node is stopped and
  // every one is reaped. Returns the exit status of the node: 0 after a stop by signal or by the
  // emperor's command, 1 when the emperor is lost (EOF on its channel), the signals cannot be
  // watched, the scoreboard cannot be made, a spooler dir cannot be used or the loop fails.
  // REQUIRES: called once.
  int run();
  // After run(): the emperor handed this vassal's sockets over to a successor (byte 3), so the
  // unix socket files must stay (the stats server's is kept already).
  bool handed_over() const noexcept { return core_ && core_->handed_over(); }

 private:
  // Event sources.
  void on_signals();
  void on_emperor();
  void on_timer();
  void on_pressure();
  void on_recycle();
  void on_listen_ready();
  // Cheap mode: watch the listening sockets (on) or stop watching them.
  void wait_for_connection(bool on);
  // The master FIFO (master_commands.cpp): opened when cfg.master_fifo is set.
  bool start_fifo();
  void on_fifo_command(fifo_command c);
  // After every event: the timer at the core's next deadline; the loop stopped once finished.
  void after_event();
  // Stats (master_stats.cpp): the server, when cfg.stats is set.
  bool start_stats();
  std::string stats_document();
  // The subscription client, when cfg.subscription has targets. false (logged) when a target
  // cannot be used (a sign key, a socket number).
  bool start_subscriber();
  // The zerg server, when cfg.zerg_server is set. True without it; false (logged) when it fails.
  bool start_zerg_server();
  worker_stats worker_snapshot(unsigned id);
  // attach-daemon and touch-reload (master_process.cpp).
  void start_process_options();
  void on_touch_check();
  void on_daemon_timer();
  void arm_daemon_timer();
  // SIGTERM to the daemons, SIGKILL after 3 s; every one reaped.
  void stop_daemons();

  const node_config& cfg_;
  const router& router_;
  const node_hooks& hooks_;
  std::vector<int> listen_fds_;
  emperor_link& emperor_;
  os::signal_source signals_;
  os::event_loop loop_;
  std::unique_ptr<scoreboard> board_;
  std::unique_ptr<os_master_launcher> launcher_;
  std::unique_ptr<master_core> core_;
  os::event_loop::timer_id timer_ = 0;
  std::unique_ptr<os::stats_server> stats_;              // with stats only
  std::unique_ptr<master_fifo> fifo_;                    // with master-fifo only
  std::unique_ptr<zerg_server> zerg_server_;             // with zerg-server only
  std::unique_ptr<os_daemon_launcher> daemon_launcher_;  // with attach-daemon only
  std::unique_ptr<daemon_manager> daemons_;              // with attach-daemon only
  os::event_loop::timer_id daemon_timer_ = 0;
  std::unique_ptr<touch_watch> touch_;          // with touch-reload only
  std::unique_ptr<os_datagram_out> datagrams_;  // with subscriptions only
  std::unique_ptr<subscriber> subscriber_;      // with subscriptions only
};

}  // namespace brood::node

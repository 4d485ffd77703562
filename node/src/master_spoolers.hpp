#pragma once
// The spooler processes of a node master (brood/spooler/spooler.hpp): the master makes the store
// and the shared board, then forks `spooler-processes` processes per spooler dir before its
// workers. One that dies is respawned (the master's crash-loop backoff); a reload restarts each
// once it has finished its task; a stop ends them (SIGTERM, SIGKILL after reload-mercy). With
// spooler-harakiri, a 1 s check SIGKILLs a process whose task outlived its deadline.
// Driven by the master's event loop; not thread-safe.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/node.hpp"
#include "brood/os/event_loop.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/spooler/spool_store.hpp"
#include "brood/spooler/spooler.hpp"
#include "respawn_backoff.hpp"

namespace brood::node {

class master_spoolers {
 public:
  using clock = os::event_loop::clock;

  // `signals`: the master's, released in each child. Everything must outlive this object.
  master_spoolers(const node_config& cfg, const node_hooks& hooks, os::event_loop& loop,
                  os::signal_source& signals);
  // SIGKILLs and reaps the processes still alive; tells hooks.spooler_board the board is gone.
  ~master_spoolers();
  master_spoolers(const master_spoolers&) = delete;
  master_spoolers& operator=(const master_spoolers&) = delete;

  // With spooler dirs: makes the store and the board (given to hooks.spooler_board) and forks every
  // spooler process. false (logged) when a dir cannot be used. Without dirs: nothing, true.
  bool start();
  // A reaped child: true if it was a spooler process (then handled: respawned unless stopping).
  bool on_exit(pid_t pid, int status);
  // Sends SIGTERM to every spooler process, SIGKILL at `deadline`. `restart` (a reload): each
  // is spawned again once it exited; otherwise (a stop) none is respawned any more.
  void stop(clock::time_point deadline, bool restart);
  void kill_all_now();
  // True when no spooler process is alive.
  bool none_alive() const noexcept;
  // The board (nullptr before start() or without spooler processes) and how often the process of
  // board slot `slot` was respawned (stats).
  const spooler::spooler_board* board() const noexcept { return board_.get(); }
  std::uint64_t respawns(std::size_t slot) const noexcept {
    return slot < procs_.size() ? procs_[slot].respawns : 0;
  }

 private:
  struct process {
    pid_t pid = 0;  // 0: not running
    clock::time_point spawned;
    respawn_backoff backoff;
    os::event_loop::timer_id respawn_timer = 0;
    bool restart_on_exit = false;              // told to stop by a reload
    std::optional<clock::time_point> kill_at;  // SIGKILL after this
    bool harakiri_done = false;                // already SIGKILLed for harakiri
    std::uint64_t respawns = 0;                // spawns after the first (stats)
  };

  bool spawn(std::size_t slot, bool respawn);
  int body(std::size_t slot);
  void schedule_respawn(std::size_t slot, int status);
  void on_respawn_due(std::size_t slot);
  void arm_mercy_timer();
  void on_mercy_due();
  void on_harakiri_check();
  std::optional<std::size_t> slot_of(pid_t pid) const;

  const node_config& cfg_;
  const node_hooks& hooks_;
  os::event_loop& loop_;
  os::signal_source& signals_;
  std::unique_ptr<spooler::spool_store> store_;
  std::unique_ptr<spooler::spooler_board> board_;
  std::vector<process> procs_;  // one per board slot
  bool stopping_ = false;
  os::event_loop::timer_id mercy_timer_ = 0;
};

}  // namespace brood::node

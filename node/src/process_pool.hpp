#pragma once
// The bookkeeping of one kind of process a node master keeps alive (its workers, its spooler
// processes): numbered slots, each with its current process, its crash-loop backoff
// (respawn_backoff.hpp) and a pending respawn; and the live processes, each with its slot and,
// once told to stop, its SIGKILL (mercy) deadline. A slot's current process and the processes
// still alive may differ: during a reload a retiring worker lives on beside its successor.
//
// Pure bookkeeping: no clock (every time comes from the caller), no signal, no log. master_core
// decides and acts; it keeps one pool for the workers and one for the spooler processes.
// Not thread-safe.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "respawn_backoff.hpp"

namespace brood::node {

class process_pool {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  struct slot {
    pid_t pid = 0;  // the current process; 0: none (respawn pending, or stopped)
    respawn_backoff backoff;
    std::optional<time_point> respawn_at;  // a respawn (or a fork retry) is due then
    std::uint64_t respawns = 0;            // spawns marked as respawns (stats)
    bool cheaped = false;  // not needed now (cheaper, idle): no respawn, no reload spawn
  };
  struct process {  // a live process
    std::size_t slot = 0;
    time_point spawned;
    bool retiring = false;              // told to stop
    bool restart_on_exit = false;       // its slot is spawned again once it exits (a reload)
    std::optional<time_point> kill_at;  // SIGKILL due then (mercy)
    bool killed_early = false;          // SIGKILLed before any stop (harakiri): not again
    bool cheaped = false;               // retiring because its slot was cheaped, not a reload
    bool recycled = false;  // retiring because it recycled (its successor runs), not a reload
  };
  struct exit_info {
    std::size_t slot = 0;
    process was;           // the record of the process that exited
    bool current = false;  // it was its slot's current process (the slot is now empty)
  };

  explicit process_pool(std::size_t slots) : slots_(slots) {}

  std::size_t size() const noexcept { return slots_.size(); }
  // REQUIRES: i < size().
  const slot& at(std::size_t i) const noexcept { return slots_[i]; }
  const std::map<pid_t, process>& processes() const noexcept { return live_; }
  process* find(pid_t pid) noexcept;
  bool empty() const noexcept { return live_.empty(); }
  // Every slot not cheaped has a current process.
  bool all_running() const noexcept;
  // A process retires for a reload (told to stop, not because its slot was cheaped).
  bool any_retiring() const noexcept;
  // Slot `i` is (not) needed now: a cheaped slot is neither respawned nor reloaded.
  void set_cheaped(std::size_t i, bool cheaped) noexcept { slots_[i].cheaped = cheaped; }

  // `pid` was spawned for slot `i` at `now` and becomes its current process (a retry or respawn
  // pending for the slot is dropped). `respawn`: counted in slot::respawns.
  void spawned(std::size_t i, pid_t pid, time_point now, bool respawn);
  // Slot `i` is to be spawned (again) at `when` (a fork retry, a backed-off respawn).
  void respawn_at(std::size_t i, time_point when) noexcept { slots_[i].respawn_at = when; }
  // A new generation for slot `i`: it has no current process any more (the old one, if alive,
  // is still a live process) and its crash-loop count starts over.
  void detach(std::size_t i) noexcept;
  void reset_backoff(std::size_t i) noexcept { slots_[i].backoff.reset(); }
  // The current process of slot `i` died after `lived`: the delay before its respawn (zero: at
  // once). `clean`: it ended by itself with status 0, which starts the crash-loop count over.
  clock::duration on_death(std::size_t i, clock::duration lived, bool clean) noexcept;
  // `pid` exited: its record is removed. nullopt when it is not a process of this pool.
  std::optional<exit_info> exited(pid_t pid);

  // `pid` is told to stop (retiring): SIGKILL at `deadline` at the latest (an earlier deadline
  // stands). `restart`: its slot is spawned again once it exits. REQUIRES: find(pid).
  void tell_to_stop(pid_t pid, time_point deadline, bool restart);
  // `pid` (the current process of its slot) is cheaped: its slot is detached and cheaped, and the
  // process retires (SIGKILL at `deadline` at the latest). REQUIRES: find(pid).
  void cheap(pid_t pid, time_point deadline);
  void cancel_respawns() noexcept;
  // Forgets every SIGKILL deadline (everything was just SIGKILLed).
  void clear_kill_deadlines() noexcept;

  // The slots whose respawn is due at `now` (their respawn_at is cleared).
  std::vector<std::size_t> take_due_respawns(time_point now);
  // The processes whose SIGKILL deadline has come at `now` (pid, slot; the deadline is cleared).
  std::vector<std::pair<pid_t, std::size_t>> take_due_kills(time_point now);
  // The earliest respawn or SIGKILL deadline; nullopt when none is pending.
  std::optional<time_point> next_deadline() const;

 private:
  std::vector<slot> slots_;
  std::map<pid_t, process> live_;
};

}  // namespace brood::node

#pragma once
// The cheaper algorithms (docs/config.md "Cheaper"): given a snapshot of the worker pool, the time
// and their options, each says "spawn N", "cheap N" or "nothing". They never touch a process:
// master_core applies the decision (spawns into cheaped slots in id order, cheaps idle workers,
// the oldest spawn first; a busy worker is never cheaped). One file per algorithm
// (cheaper_*.cpp); unit tests drive each with hand-made snapshots and times
// (tests/node/cheaper_*_test.cpp).
//
// An algorithm keeps its own counters between calls (uWSGI's spare counts checks), so it is a
// pure function of the sequence of snapshots it was given. Not thread-safe.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brood/node/cheaper_config.hpp"

namespace brood::node {

// A worker slot as the cheaper algorithms see it.
enum class pool_slot {
  cheap,     // no process: cheaped (or not spawned yet); a spawn may use it
  starting,  // forked, not accepting yet: capacity soon
  idle,      // accepting, no request in flight
  busy,      // a request in flight
  stopping,  // told to stop (being cheaped, or retiring in a reload): neither capacity nor cheap
};

struct pool_worker {
  unsigned id = 0;  // 1-based
  pool_slot state = pool_slot::cheap;
  std::uint64_t running_us = 0;       // time spent in completed requests, all processes of the id
  std::int64_t request_start_us = 0;  // busy: the start of the request in flight (unix µs)
  std::uint64_t requests = 0;         // completed requests, all processes of the id
  std::uint64_t rss = 0;              // bytes; 0 unless memory-report
};

struct pool_snapshot {
  using time_point = std::chrono::steady_clock::time_point;

  time_point now;                    // steady clock: for the algorithms' own timers
  std::int64_t now_us = 0;           // unix µs: the clock of request_start_us
  std::vector<pool_worker> workers;  // every slot, id order (ids 1..processes)
  std::uint64_t backlog = 0;         // the longest listen queue over the node's sockets now
  bool can_spawn = true;             // false at or above cheaper-rss-limit-soft

  unsigned count(pool_slot s) const noexcept;
  unsigned active() const noexcept;  // starting + idle + busy
  // A worker's busy time up to now: its completed requests plus the one in flight.
  std::uint64_t busy_us(const pool_worker& w) const noexcept;
};

struct cheaper_decision {
  using time_point = std::chrono::steady_clock::time_point;

  int workers = 0;  // > 0: spawn that many; < 0: cheap that many; 0: nothing
  std::string why;  // one line for the log and the stats ("3 busy + 5 queued: want 8"); may be ""
  // Call decide() again at this time even without a check (brood's algorithm: a pending shrink,
  // or workers all busy while slots are free). nullopt: at the next check.
  std::optional<time_point> recheck_at;
};

class cheaper_algorithm {
 public:
  virtual ~cheaper_algorithm() = default;

  virtual cheaper_algo kind() const noexcept = 0;
  // One evaluation. uWSGI's algorithms are called once per check (check-interval); brood's also
  // when the last idle worker takes a request (pressure) and at its recheck_at.
  // The result is not clamped: the caller keeps spawns within the cheaped slots and cheaps
  // within the idle workers above `cheaper`.
  virtual cheaper_decision decide(const pool_snapshot& s) = 0;
  // True: decide() also wants the pressure events and its recheck_at (brood's algorithm).
  virtual bool event_driven() const noexcept { return false; }
};

// The algorithm `cfg.algo` for a node of `processes` worker slots. REQUIRES: cfg.enabled(),
// cfg.cheaper < processes.
std::unique_ptr<cheaper_algorithm> make_cheaper_algorithm(const cheaper_config& cfg,
                                                          unsigned processes);

}  // namespace brood::node

#pragma once
// The master's scoreboard: one slot per worker id in an anonymous MAP_SHARED mapping made before
// the workers fork, so the master (stats server, cheaper algorithms) reads what each worker
// counts. Always made by a master; a worker without a slot (no master) records nothing (one null
// check per request).
//
// Writers: the master writes pid, state, last_spawn and respawn_count when it forks, tells to
// stop or reaps a worker; a worker adds to the counters of its slot after each request. During a
// reload the retiring and the new worker of one id share the slot for a while: the counters are
// fetch_add'ed (both add up), while the per-request state (state, in_request, request_start,
// accepting) belongs to the slot's owner, the process whose pid the slot holds. Every field is a
// lock-free atomic: safe across processes, readers may see one request half-recorded (the
// counters are not one snapshot) and a state one transition late.
//
// The state of a slot (slot_state):
//   empty    -> starting   the master forked a worker for it (or the worker claimed it)
//   starting -> idle       the worker accepts connections
//   idle    <-> busy       a request is in flight (busy while in_request > 0)
//   any live -> stopping   the master told the owner to stop, or it closed its listeners
//   any      -> empty      the master reaped the owner
//   empty    -> cheap      the master does not need a worker in the slot now (cheaper, idle)
//
// Pressure events (with cheaper's event-driven algorithm): a worker that takes a request and
// thereby leaves no slot idle writes to an eventfd the master watches (pressure_fd()), once until
// the master takes the event (take_pressure()). So the master learns at once that the pool is
// exhausted, without polling.
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "brood/os/shared_array.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::node {

enum class slot_state : std::uint32_t { empty, starting, idle, busy, stopping, cheap };

// threads: the most cores (request threads) one worker may have.
inline constexpr unsigned max_cores = 256;

// "empty", "starting", "idle", "busy", "stopping", "cheap".
const char* to_string(slot_state s) noexcept;

// Why a worker is recycled (node/include/brood/node/lifetime_config.hpp): written into its slot by
// the worker itself (max-requests, reload-on-rss/as) or by the master (max-worker-lifetime), read
// by the master when it reaps the worker, which is then respawned at once.
enum class recycle_reason : std::uint32_t {
  none,
  max_requests,
  reload_on_rss,
  reload_on_as,
  max_worker_lifetime,
  evil_reload_on_rss,  // the master killed it
  evil_reload_on_as,
};

// The option's name: "max-requests", "reload-on-rss", ... ("" for none).
const char* to_string(recycle_reason r) noexcept;

class scoreboard {
 public:
  // One core (request thread) of a worker, as uWSGI's stats show its cores.
  struct core {
    std::atomic<std::uint64_t> requests{0};         // ended requests
    std::atomic<std::int32_t> in_request{0};        // 1 while a request is in flight
    std::atomic<std::int64_t> request_start_us{0};  // of the latest started one, unix µs
  };

  struct slot {
    alignas(64) std::atomic<std::int32_t> pid{0};   // 0: no worker running
    std::atomic<std::uint32_t> accepting{0};        // 1 while it accepts connections
    std::atomic<std::int32_t> in_request{0};        // requests in flight (may read < 0: none)
    std::atomic<std::int64_t> request_start_us{0};  // the latest started one, unix µs
    std::atomic<std::uint64_t> requests{0};         // ended requests, answered or not
    std::atomic<std::uint64_t> exceptions{0};       // answered with a failure reply (255/0)
    std::atomic<std::uint64_t> tx{0};               // reply bytes written
    std::atomic<std::uint64_t> running_us{0};       // time spent in requests
    std::atomic<std::int64_t> last_end_us{0};       // when the latest request ended, unix µs
    std::atomic<std::uint64_t> write_errors{0};     // replies that could not be written
    std::atomic<std::uint64_t> read_errors{0};      // requests that could not be read
    std::atomic<std::int64_t> last_spawn{0};        // unix seconds of the last fork
    std::atomic<std::uint64_t> respawn_count{0};    // forks of this id, the first included
    std::atomic<slot_state> state{slot_state::empty};
    std::atomic<std::uint64_t> harakiri_count{0};     // harakiri kills of this id (master)
    std::atomic<std::uint64_t> requests_at_spawn{0};  // `requests` when the owner claimed it
    std::atomic<recycle_reason> recycle{recycle_reason::none};  // of the owner, once it recycles
    // A short summary of the latest started request ("127.0.0.1 - GET /path"), for harakiri's
    // log line: written by the owner when harakiri is on (store_summary), read by the master.
    std::array<std::atomic<std::uint64_t>, 12> summary{};
    core cores[max_cores];  // the first `threads` are used
  };

  // `workers` slots (ids 1..workers); `pressure`: with pressure events (an eventfd). Throws
  // std::system_error if the mapping or the eventfd cannot be made.
  // `recycle_events`: a worker that recycles itself writes another eventfd (recycle_fd()).
  // `passable`: the mappings are memfds, so that shared() can hand the board to a process that
  // was not forked from this one (the fork server's pre-forked worker, node/src/
  // fork_server_prefork.hpp).
  explicit scoreboard(std::size_t workers, bool pressure = false, bool recycle_events = false,
                      bool passable = false);

  // The fds of a passable board (-1 where it has none) and its number of slots; attaching them in
  // another process maps the same slots and header, and writes the same eventfds.
  struct shared_fds {
    int slots = -1, header = -1, pressure = -1, recycle = -1;
    std::size_t workers = 0;
  };
  shared_fds shared() const noexcept;
  // The board another process made passable, from its fds (owned here from now on). Throws
  // std::system_error when a memfd cannot be mapped.
  scoreboard(std::size_t workers, os::unique_fd slots, os::unique_fd header, os::unique_fd pressure,
             os::unique_fd recycle);
  ~scoreboard();
  scoreboard(const scoreboard&) = delete;
  scoreboard& operator=(const scoreboard&) = delete;

  std::size_t size() const noexcept { return slots_.size(); }
  // REQUIRES: 1 <= id <= size().
  slot& at(unsigned id) noexcept { return slots_[id - 1]; }
  const slot& at(unsigned id) const noexcept { return slots_[id - 1]; }

  // Master side: worker `id` was forked as `pid` (counts a spawn; `wall_seconds`: the fork's
  // unix time, passed in so that the master's state machine reads no clock), `pid` was told to
  // stop, or `pid` was reaped (clears the slot's per-request state). The last two do nothing unless
  // `pid` owns the slot.
  void record_spawn(unsigned id, pid_t pid, std::int64_t wall_seconds) noexcept;
  void record_stopping(unsigned id, pid_t pid) noexcept;
  void record_exit(unsigned id, pid_t pid) noexcept;
  // The slot has no worker and needs none now (state cheap); nothing when a worker owns it.
  void record_cheap(unsigned id) noexcept;
  // The eventfd a worker writes when it took the last idle slot; -1 without pressure events.
  int pressure_fd() const noexcept { return pressure_fd_.get(); }
  // Master side: consumes a pending pressure event (true when there was one) and re-arms it.
  bool take_pressure() noexcept;
  // Worker side: a worker just became busy. When no slot is idle any more, one pressure event.
  void note_busy() noexcept;
  // The eventfd a worker writes when it recycles itself; -1 without recycle events.
  int recycle_fd() const noexcept { return recycle_fd_.get(); }
  // Master side: consumes the pending recycle events (true when there were some).
  bool take_recycle() noexcept;
  // Worker side: this worker recycles itself (its slot names the reason): one event.
  void note_recycling() noexcept;
  slot_state state(unsigned id) const noexcept { return at(id).state.load(); }
  // Worker side, in the forked worker before it serves: this process owns slot `id` and records
  // into it from now on (set as current_worker_slot()).
  void claim(unsigned id) noexcept;

 private:
  struct header {
    std::atomic<std::uint32_t> pressure_pending{0};  // 1: an event is written, not taken yet
  };
  os::shared_array<slot> slots_;
  os::shared_array<header> header_;
  os::unique_fd pressure_fd_;
  os::unique_fd recycle_fd_;
};

// The scoreboard this worker process records into (set with its slot by claim()); nullptr when
// it has none.
scoreboard* current_worker_board() noexcept;

// The slot this worker process records into; nullptr when it has none (no stats, no master).
scoreboard::slot* current_worker_slot() noexcept;

// The current time as the scoreboard keeps it: unix µs.
std::int64_t scoreboard_now_us() noexcept;

// A slot's request summary: stored truncated to 95 bytes (word by word, relaxed: a reader racing
// the writer may see a mix of two summaries, never bytes out of bounds).
void store_summary(scoreboard::slot& s, std::string_view text) noexcept;
std::string load_summary(const scoreboard::slot& s);

// A worker's side of its slot (current_worker_slot() when made) for one of its cores: a few
// relaxed atomic operations and one clock read per call, nothing at all without a slot. Used on
// that core's thread; the cores of one worker share the slot's counters (atomic adds).
class slot_recorder {
 public:
  // REQUIRES: core < max_cores.
  explicit slot_recorder(unsigned core = 0) noexcept;

  // A framed request is about to be answered; returns its start (for request_ended).
  std::int64_t request_started() noexcept {
    if (!slot_) return 0;
    const std::int64_t now = scoreboard_now_us();
    core_->request_start_us.store(now, std::memory_order_relaxed);
    core_->in_request.store(1, std::memory_order_relaxed);
    if (owner()) {
      slot_->request_start_us.store(now, std::memory_order_relaxed);
      slot_->in_request.fetch_add(1, std::memory_order_relaxed);
      if (move(slot_state::idle, slot_state::busy) && board_) board_->note_busy();
    }
    return now;
  }
  // The request that started at `start` ended: `tx` reply bytes written; `failure_reply`: the
  // reply was a failure reply; `write_failed`: the reply could not be written completely.
  void request_ended(std::int64_t start, std::size_t tx, bool failure_reply,
                     bool write_failed) noexcept {
    if (!slot_) return;
    const std::int64_t now = scoreboard_now_us();
    const std::int64_t took = now - start;
    constexpr auto relaxed = std::memory_order_relaxed;
    slot_->last_end_us.store(now, relaxed);
    slot_->requests.fetch_add(1, relaxed);
    core_->requests.fetch_add(1, relaxed);
    core_->in_request.store(0, relaxed);
    slot_->tx.fetch_add(tx, relaxed);
    slot_->running_us.fetch_add(took > 0 ? static_cast<std::uint64_t>(took) : 0, relaxed);
    if (failure_reply) slot_->exceptions.fetch_add(1, relaxed);
    if (write_failed) slot_->write_errors.fetch_add(1, relaxed);
    if (owner() && slot_->in_request.fetch_sub(1, relaxed) <= 1)
      move(slot_state::busy, slot_state::idle);
  }
  void read_failed() noexcept {
    if (slot_) slot_->read_errors.fetch_add(1, std::memory_order_relaxed);
  }
  // The request that just started is `summary` (harakiri's log line).
  void describe(std::string_view summary) noexcept {
    if (slot_ && owner()) store_summary(*slot_, summary);
  }
  // This worker recycles itself for `why` (the master respawns it at once when it exits).
  void recycling(recycle_reason why) noexcept {
    if (!slot_ || !owner()) return;
    slot_->recycle.store(why, std::memory_order_relaxed);
    if (board_) board_->note_recycling();
  }
  // On: the worker accepts connections (starting -> idle). Off: it stopped accepting for good
  // (closed its listeners): stopping.
  void set_accepting(bool on) noexcept {
    if (!slot_ || !owner()) return;
    slot_->accepting.store(on ? 1 : 0, std::memory_order_relaxed);
    if (on)
      move(slot_state::starting, slot_state::idle);
    else
      slot_->state.store(slot_state::stopping, std::memory_order_relaxed);
  }

 private:
  bool owner() const noexcept { return slot_->pid.load(std::memory_order_relaxed) == self_; }
  bool move(slot_state from, slot_state to) noexcept {
    return slot_->state.compare_exchange_strong(from, to, std::memory_order_relaxed);
  }

  scoreboard::slot* slot_;
  scoreboard::core* core_;  // of slot_, when slot_ is not null
  scoreboard* board_;
  pid_t self_;
};

}  // namespace brood::node

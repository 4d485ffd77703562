// The scoreboard mapping and its master/worker bookkeeping.
#include "scoreboard.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace brood::node {
namespace {

static_assert(std::atomic<std::int32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<slot_state>::is_always_lock_free);

// Set once in a forked worker (claim), read when its worker is made.
std::atomic<scoreboard::slot*> current_slot{nullptr};

}  // namespace

scoreboard::scoreboard(std::size_t workers) {
  auto slots = os::shared_array<slot>::open(workers, "the stats scoreboard");
  if (!slots) throw std::system_error(slots.error().code(), "cannot map the stats scoreboard");
  slots_ = std::move(*slots);
}

scoreboard::~scoreboard() {
  // A slot of this board must not outlive it as the current one (tests run workers in-process).
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slot* expected = &slots_[i];
    current_slot.compare_exchange_strong(expected, nullptr);
  }
}

const char* to_string(slot_state s) noexcept {
  switch (s) {
    case slot_state::empty:
      return "empty";
    case slot_state::starting:
      return "starting";
    case slot_state::idle:
      return "idle";
    case slot_state::busy:
      return "busy";
    case slot_state::stopping:
      return "stopping";
  }
  return "?";
}

void scoreboard::record_spawn(unsigned id, pid_t pid, std::int64_t wall_seconds) noexcept {
  slot& s = at(id);
  // The child may have claimed the slot already (and be accepting): its state stands.
  if (s.pid.exchange(pid) != pid) s.state.store(slot_state::starting);
  s.last_spawn.store(wall_seconds);
  s.respawn_count.fetch_add(1);
}

void scoreboard::record_stopping(unsigned id, pid_t pid) noexcept {
  slot& s = at(id);
  if (s.pid.load() == pid) s.state.store(slot_state::stopping);
}

void scoreboard::record_exit(unsigned id, pid_t pid) noexcept {
  slot& s = at(id);
  std::int32_t owner = pid;
  if (!s.pid.compare_exchange_strong(owner, 0)) return;  // a newer worker owns the slot
  s.in_request.store(0);
  s.accepting.store(0);
  s.state.store(slot_state::empty);
}

void scoreboard::claim(unsigned id) noexcept {
  slot& s = at(id);
  s.pid.store(::getpid());
  s.in_request.store(0);  // whatever a killed predecessor left
  s.accepting.store(0);
  s.state.store(slot_state::starting);
  current_slot.store(&s);
}

scoreboard::slot* current_worker_slot() noexcept { return current_slot.load(); }

std::int64_t scoreboard_now_us() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

slot_recorder::slot_recorder() noexcept : slot_(current_worker_slot()), self_(::getpid()) {}

}  // namespace brood::node

// The scoreboard mapping and its master/worker bookkeeping.
#include "scoreboard.hpp"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace brood::node {
namespace {

static_assert(std::atomic<std::int32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<slot_state>::is_always_lock_free);
static_assert(std::atomic<recycle_reason>::is_always_lock_free);

// Set once in a forked worker (claim), read when its worker is made.
std::atomic<scoreboard::slot*> current_slot{nullptr};
std::atomic<scoreboard*> current_board{nullptr};

}  // namespace

scoreboard::scoreboard(std::size_t workers, bool pressure, bool recycle_events, bool passable) {
  auto slots = passable ? os::shared_array<slot>::open_passable(workers, "the stats scoreboard")
                        : os::shared_array<slot>::open(workers, "the stats scoreboard");
  if (!slots) throw std::system_error(slots.error().code(), "cannot map the stats scoreboard");
  slots_ = std::move(*slots);
  auto header =
      passable ? os::shared_array<scoreboard::header>::open_passable(1, "the scoreboard header")
               : os::shared_array<scoreboard::header>::open(1, "the scoreboard header");
  if (!header) throw std::system_error(header.error().code(), "cannot map the scoreboard header");
  header_ = std::move(*header);
  if (recycle_events) {  // not close-on-exec either
    recycle_fd_ = os::unique_fd(::eventfd(0, EFD_NONBLOCK));
    if (!recycle_fd_) throw std::system_error(errno, std::system_category(), "eventfd");
  }
  if (!pressure) return;
  // Not close-on-exec: the workers are forked, never exec'd, and write it.
  pressure_fd_ = os::unique_fd(::eventfd(0, EFD_NONBLOCK));
  if (!pressure_fd_) throw std::system_error(errno, std::system_category(), "eventfd");
}

scoreboard::scoreboard(std::size_t workers, os::unique_fd slots, os::unique_fd header,
                       os::unique_fd pressure, os::unique_fd recycle)
    : pressure_fd_(std::move(pressure)), recycle_fd_(std::move(recycle)) {
  auto s = os::shared_array<slot>::attach(std::move(slots), workers, "the stats scoreboard");
  if (!s) throw std::system_error(s.error().code(), s.error().message());
  slots_ = std::move(*s);
  auto h =
      os::shared_array<scoreboard::header>::attach(std::move(header), 1, "the scoreboard header");
  if (!h) throw std::system_error(h.error().code(), h.error().message());
  header_ = std::move(*h);
}

scoreboard::shared_fds scoreboard::shared() const noexcept {
  return {slots_.fd(), header_.fd(), pressure_fd_.get(), recycle_fd_.get(), slots_.size()};
}

scoreboard::~scoreboard() {
  // A slot of this board must not outlive it as the current one (tests run workers in-process).
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slot* expected = &slots_[i];
    current_slot.compare_exchange_strong(expected, nullptr);
  }
  scoreboard* self = this;
  current_board.compare_exchange_strong(self, nullptr);
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
    case slot_state::cheap:
      return "cheap";
  }
  return "?";
}

const char* to_string(recycle_reason r) noexcept {
  switch (r) {
    case recycle_reason::none:
      return "";
    case recycle_reason::max_requests:
      return "max-requests";
    case recycle_reason::reload_on_rss:
      return "reload-on-rss";
    case recycle_reason::reload_on_as:
      return "reload-on-as";
    case recycle_reason::max_worker_lifetime:
      return "max-worker-lifetime";
    case recycle_reason::evil_reload_on_rss:
      return "evil-reload-on-rss";
    case recycle_reason::evil_reload_on_as:
      return "evil-reload-on-as";
  }
  return "?";
}

void scoreboard::record_spawn(unsigned id, pid_t pid, std::int64_t wall_seconds) noexcept {
  slot& s = at(id);
  // The child may have claimed the slot already (and be accepting): its state stands.
  if (s.pid.exchange(pid) != pid) {  // the predecessor's recycle reason is not the child's
    s.recycle.store(recycle_reason::none);
    s.state.store(slot_state::starting);
  }
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
  for (core& c : s.cores) c.in_request.store(0);
  s.accepting.store(0);
  s.recycle.store(recycle_reason::none);
  s.state.store(slot_state::empty);
}

void scoreboard::record_cheap(unsigned id) noexcept {
  slot& s = at(id);
  if (s.pid.load() == 0) s.state.store(slot_state::cheap);
}

bool scoreboard::take_pressure() noexcept {
  if (!pressure_fd_) return false;
  std::uint64_t n = 0;
  const bool got = ::read(pressure_fd_.get(), &n, sizeof n) == sizeof n;
  header_[0].pressure_pending.store(0);
  return got;
}

void scoreboard::note_busy() noexcept {
  if (!pressure_fd_) return;
  for (std::size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].state.load(std::memory_order_relaxed) == slot_state::idle) return;
  std::uint32_t none = 0;
  if (!header_[0].pressure_pending.compare_exchange_strong(none, 1)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(pressure_fd_.get(), &one, sizeof one);
}

bool scoreboard::take_recycle() noexcept {
  std::uint64_t n = 0;
  return recycle_fd_ && ::read(recycle_fd_.get(), &n, sizeof n) == sizeof n;
}

void scoreboard::note_recycling() noexcept {
  if (!recycle_fd_) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(recycle_fd_.get(), &one, sizeof one);
}

void scoreboard::claim(unsigned id) noexcept {
  slot& s = at(id);
  s.pid.store(::getpid());
  s.in_request.store(0);  // whatever a killed predecessor left
  s.accepting.store(0);
  s.recycle.store(recycle_reason::none);
  store_summary(s, "");
  s.requests_at_spawn.store(s.requests.load());
  s.state.store(slot_state::starting);
  current_slot.store(&s);
  current_board.store(this);
}

scoreboard::slot* current_worker_slot() noexcept { return current_slot.load(); }
scoreboard* current_worker_board() noexcept { return current_board.load(); }

std::int64_t scoreboard_now_us() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void store_summary(scoreboard::slot& s, std::string_view text) noexcept {
  constexpr std::size_t capacity = sizeof(std::uint64_t) * std::tuple_size_v<decltype(s.summary)>;
  char bytes[capacity] = {};
  const std::size_t len = std::min(text.size(), capacity - 1);
  std::memcpy(bytes, text.data(), len);
  for (std::size_t i = 0; i < s.summary.size(); ++i) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + i * sizeof word, sizeof word);
    s.summary[i].store(word, std::memory_order_relaxed);
    if ((i + 1) * sizeof word > len) break;  // the word with the terminating zero is stored
  }
}

std::string load_summary(const scoreboard::slot& s) {
  std::string out;
  for (const auto& w : s.summary) {
    const std::uint64_t word = w.load(std::memory_order_relaxed);
    char bytes[sizeof word];
    std::memcpy(bytes, &word, sizeof word);
    for (char c : bytes) {
      if (c == '\0') return out;
      out.push_back(c);
    }
  }
  return out;
}

slot_recorder::slot_recorder(unsigned core) noexcept
    : slot_(current_worker_slot()),
      core_(slot_ ? &slot_->cores[core] : nullptr),
      board_(current_worker_board()),
      self_(::getpid()) {}

}  // namespace brood::node

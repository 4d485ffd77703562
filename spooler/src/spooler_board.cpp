// spooler_board: one anonymous MAP_SHARED mapping made before any fork, so the master, the
// workers and the spooler processes all see the same slots. Every field is a lock-free atomic
// (safe across processes); the running-task path is kept in atomic words behind a sequence
// counter, so a reader never sees a torn path even while its owner rewrites it.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "brood/spooler/spooler.hpp"

namespace brood::spooler {
namespace {

constexpr std::size_t max_path = 4095;
constexpr std::size_t path_words = (max_path + 1) / sizeof(std::uint64_t);
constexpr std::size_t done_words = (spooler_board::done_name_max + 1) / sizeof(std::uint64_t);

void store_words(std::atomic<std::uint64_t>* words, std::string_view text) noexcept {
  for (std::size_t w = 0; w * 8 < text.size(); ++w) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + w * 8, std::min<std::size_t>(8, text.size() - w * 8));
    words[w].store(word, std::memory_order_relaxed);
  }
}

std::string load_words(const std::atomic<std::uint64_t>* words, std::size_t len) {
  std::string out(len, '\0');
  for (std::size_t w = 0; w * 8 < len; ++w) {
    const std::uint64_t word = words[w].load(std::memory_order_relaxed);
    std::memcpy(out.data() + w * 8, &word, std::min<std::size_t>(8, len - w * 8));
  }
  return out;
}

static_assert(std::atomic<std::int32_t>::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

}  // namespace

// One slot. `seq` is odd while the owner writes path_len/path (a seqlock).
struct spooler_board::shared {
  std::atomic<std::int32_t> pid{0};
  std::atomic<std::uint32_t> seq{0};
  std::atomic<std::int64_t> harakiri_ns{0};
  std::atomic<std::uint64_t> tasks{0};
  std::atomic<std::uint64_t> path_len{0};
  std::atomic<std::uint64_t> path[path_words];
  // Done tasks not set aside yet: a ring, entries [done_tail, done_head) (modulo done_max) are
  // complete (an entry is written before the head covers it).
  std::atomic<std::uint64_t> done_head{0};
  std::atomic<std::uint64_t> done_tail{0};
  struct done_entry {
    std::atomic<std::uint64_t> len{0};
    std::atomic<std::uint64_t> words[done_words];
  } done[done_max];
};

spooler_board::spooler_board(std::vector<std::string> slot_dirs) : dirs_(std::move(slot_dirs)) {
  auto mem = os::shared_array<shared>::open(dirs_.size(), "the spooler board");
  if (!mem) throw std::system_error(mem.error().code(), "cannot map the spooler board");
  mem_ = std::move(*mem);
}

spooler_board::~spooler_board() = default;

std::size_t spooler_board::size() const noexcept { return dirs_.size(); }

const std::string& spooler_board::dir(std::size_t slot) const { return dirs_.at(slot); }

void spooler_board::set_pid(std::size_t slot, int pid) noexcept { mem_[slot].pid.store(pid); }

int spooler_board::pid(std::size_t slot) const noexcept { return mem_[slot].pid.load(); }

std::vector<int> spooler_board::pids() const {
  std::vector<int> out;
  for (std::size_t i = 0; i < dirs_.size(); ++i)
    if (int p = pid(i); p > 0) out.push_back(p);
  return out;
}

void spooler_board::set_running(std::size_t slot, std::string_view path,
                                std::int64_t harakiri_ns) noexcept {
  shared& s = mem_[slot];
  path = path.substr(0, max_path);
  // Odd while writing. Computed from the current value, so a writer killed mid-write (seq left
  // odd) does not invert the parity for its successor.
  const std::uint32_t base = (s.seq.load(std::memory_order_relaxed) + 2) & ~1u;
  s.seq.store(base + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  store_words(s.path, path);
  s.path_len.store(path.size(), std::memory_order_relaxed);
  s.harakiri_ns.store(harakiri_ns, std::memory_order_relaxed);
  s.seq.store(base + 2, std::memory_order_release);
}

void spooler_board::clear_running(std::size_t slot) noexcept { set_running(slot, {}, 0); }

std::string spooler_board::running(std::size_t slot) const {
  const shared& s = mem_[slot];
  char buf[path_words * 8];
  // A writer killed mid-write leaves seq odd forever: after a bounded number of tries the last
  // read is returned as it is.
  for (int attempt = 0;; ++attempt) {
    const std::uint32_t before = s.seq.load(std::memory_order_acquire);
    const std::size_t len =
        std::min<std::size_t>(s.path_len.load(std::memory_order_relaxed), max_path);
    for (std::size_t w = 0; w * 8 < len; ++w) {
      const std::uint64_t word = s.path[w].load(std::memory_order_relaxed);
      std::memcpy(buf + w * 8, &word, 8);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    const bool stable = (before & 1) == 0 && s.seq.load(std::memory_order_relaxed) == before;
    if (stable || attempt >= 10000) return std::string(buf, len);
  }
}

std::int64_t spooler_board::harakiri_deadline(std::size_t slot) const noexcept {
  return mem_[slot].harakiri_ns.load();
}

std::uint64_t spooler_board::tasks_done(std::size_t slot) const noexcept {
  return mem_[slot].tasks.load();
}

void spooler_board::count_task(std::size_t slot) noexcept { mem_[slot].tasks.fetch_add(1); }

bool spooler_board::add_done(std::size_t slot, std::string_view name) noexcept {
  shared& s = mem_[slot];
  const std::uint64_t head = s.done_head.load(std::memory_order_relaxed);
  if (head - s.done_tail.load(std::memory_order_relaxed) >= done_max ||
      name.size() > done_name_max || name.empty())
    return false;
  shared::done_entry& e = s.done[head % done_max];
  store_words(e.words, name);
  e.len.store(name.size(), std::memory_order_relaxed);
  s.done_head.store(head + 1, std::memory_order_release);
  return true;
}

void spooler_board::drop_done(std::size_t slot, std::size_t n) noexcept {
  shared& s = mem_[slot];
  const std::uint64_t head = s.done_head.load(std::memory_order_relaxed);
  const std::uint64_t tail = s.done_tail.load(std::memory_order_relaxed);
  s.done_tail.store(tail + std::min<std::uint64_t>(n, head - tail), std::memory_order_release);
}

std::vector<std::string> spooler_board::done(std::size_t slot) const {
  const shared& s = mem_[slot];
  const std::uint64_t head = s.done_head.load(std::memory_order_acquire);
  std::uint64_t tail = s.done_tail.load(std::memory_order_acquire);
  if (head - tail > done_max) tail = head - done_max;  // never: a torn pair read as little
  std::vector<std::string> out;
  for (; tail != head; ++tail) {
    const shared::done_entry& e = s.done[tail % done_max];
    const std::size_t len =
        std::min<std::size_t>(e.len.load(std::memory_order_relaxed), done_name_max);
    out.push_back(load_words(e.words, len));
  }
  return out;
}

}  // namespace brood::spooler

#include "pool.hpp"

#include <pthread.h>

#include <atomic>
#include <mutex>

namespace brood::client::detail {
namespace {

// Bumped in the child of every fork(): a pool filled before the fork must not be used after it,
// or parent and child would share connections and read each other's replies.
std::atomic<unsigned> fork_generation{0};

void on_fork_child() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

unsigned current_generation() {
  static std::once_flag registered;
  std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, on_fork_child); });
  return fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

os::unique_fd idle_pool::take(std::string_view address) {
  auto it = idle_.find(address);
  if (it == idle_.end()) return {};
  std::vector<os::unique_fd>& idle = it->second;
  while (!idle.empty()) {
    os::unique_fd fd = std::move(idle.back());
    idle.pop_back();
    if (idle_connection_alive(fd.get())) return fd;
  }
  return {};
}

void idle_pool::put(std::string_view address, os::unique_fd fd) {
  auto it = idle_.find(address);
  if (it == idle_.end()) {
    if (idle_.size() >= max_addresses) idle_.clear();
    it = idle_.emplace(std::string(address), std::vector<os::unique_fd>{}).first;
    it->second.reserve(per_address);
  }
  if (it->second.size() < per_address) it->second.push_back(std::move(fd));
}

void idle_pool::forget_after_fork(unsigned generation) {
  if (generation == generation_) return;
  // Closing our copies leaves the parent's connections untouched (no shutdown()).
  idle_.clear();
  generation_ = generation;
}

idle_pool& thread_pool() {
  thread_local idle_pool pool;
  pool.forget_after_fork(current_generation());
  return pool;
}

}  // namespace brood::client::detail

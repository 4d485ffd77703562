#include "process_id.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace brood::spooler {
namespace {

std::atomic<pid_t> cached{0};

void forked_child() noexcept { cached.store(::getpid(), std::memory_order_relaxed); }

}  // namespace

pid_t current_pid() noexcept {
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, forked_child);
    cached.store(::getpid(), std::memory_order_relaxed);
    return true;
  }();
  (void)registered;
  return cached.load(std::memory_order_relaxed);
}

}  // namespace brood::spooler

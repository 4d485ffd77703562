#include "deferred_closer.hpp"

#include <utility>

namespace brood::spooler {

deferred_closer::~deferred_closer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  queue_.clear();  // closes anything left (only if the thread never started)
}

void deferred_closer::close_later(os::unique_fd fd) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(fd));
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    if (queue_.size() >= batch && !kicked_) wake = kicked_ = true;
  }
  if (wake) wake_.notify_one();
}

void deferred_closer::kick() {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty() && !kicked_) wake = kicked_ = true;
  }
  if (wake) wake_.notify_one();
}

void deferred_closer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || kicked_; });
    if (queue_.empty()) {
      if (stopping_) return;  // nothing left
      kicked_ = false;
      continue;
    }
    os::unique_fd fd = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    fd.reset();
    lock.lock();
  }
}

}  // namespace brood::spooler

#include "brood/os/event_loop.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace brood::os {

void event_loop::watch(int fd, std::function<void()> fn) { watched_[fd] = std::move(fn); }

void event_loop::unwatch(int fd) { watched_.erase(fd); }

event_loop::timer_id event_loop::at(clock::time_point when, std::function<void()> fn) {
  timer_id id = next_id_++;
  timers_.emplace(when, timer{id, std::move(fn)});
  return id;
}

void event_loop::cancel(timer_id id) {
  auto it = std::find_if(timers_.begin(), timers_.end(),
                         [id](const auto& entry) { return entry.second.id == id; });
  if (it != timers_.end()) timers_.erase(it);
}

event_loop::timer_id event_loop::pause_watch(int fd, clock::duration d, std::function<void()> fn) {
  unwatch(fd);
  return after(d, [this, fd, fn = std::move(fn)]() mutable { watch(fd, std::move(fn)); });
}

int event_loop::poll_timeout_ms() const {
  if (timers_.empty()) return -1;
  auto wait = timers_.begin()->first - clock::now();
  if (wait <= clock::duration::zero()) return 0;
  // Round up, so a timer never fires a little early and spins.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return static_cast<int>(std::min<long long>(ms, INT_MAX));
}

void event_loop::fire_due_timers() {
  const auto now = clock::now();
  while (!stopped_ && !timers_.empty() && timers_.begin()->first <= now) {
    auto fn = std::move(timers_.begin()->second.fn);
    timers_.erase(timers_.begin());
    fn();
  }
}

status event_loop::dispatch_readable() {
  std::vector<pollfd> fds;
  fds.reserve(watched_.size());
  for (const auto& [fd, fn] : watched_) fds.push_back({fd, POLLIN, 0});
  int n = ::poll(fds.data(), fds.size(), poll_timeout_ms());
  if (n < 0 && errno != EINTR) return status::last_errno("poll");
  for (int i = 0; n > 0 && i < static_cast<int>(fds.size()); ++i) {
    const pollfd& p = fds[i];
    if (stopped_) break;
    if (p.revents == 0) continue;
    // A handler may have unwatched this fd (or others) meanwhile: look it up again.
    auto it = watched_.find(p.fd);
    if (it == watched_.end()) continue;
    auto fn = it->second;  // the handler may unwatch itself
    fn();
  }
  return {};
}

status event_loop::run() {
  stopped_ = false;
  while (!stopped_) {
    if (auto st = dispatch_readable(); !st.ok()) return st;
    fire_due_timers();
  }
  return {};
}

}  // namespace brood::os

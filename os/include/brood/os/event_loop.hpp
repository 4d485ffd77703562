#pragma once
// A small poll(2) loop for process managers (the node master, later the emperor): readable fds
// and one-shot timers, each with its handler. It owns no fd and keeps no process-global state,
// so a child forked from a handler inherits nothing it must clean up. Not thread-safe: use it
// from one thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "brood/os/status.hpp"

namespace brood::os {

class event_loop {
 public:
  using clock = std::chrono::steady_clock;
  using timer_id = std::uint64_t;

  // Calls `fn` whenever `fd` is readable (level-triggered) until unwatch(fd). The caller keeps
  // `fd` open while it is watched.
  void watch(int fd, std::function<void()> fn);
  void unwatch(int fd);

  // Calls `fn` once at `when` (or as soon as possible after). Returns an id for cancel().
  timer_id at(clock::time_point when, std::function<void()> fn);
  timer_id after(clock::duration d, std::function<void()> fn) {
    return at(clock::now() + d, std::move(fn));
  }
  // Forgets a pending timer; unknown or fired ids are ignored.
  void cancel(timer_id id);
  // Stops watching `fd` and watches it again with `fn` after `d` (a listener whose accept fails
  // with EMFILE stays readable: watching it at once would spin). Returns the timer's id, for
  // cancel() when the owner goes first.
  timer_id pause_watch(int fd, clock::duration d, std::function<void()> fn);

  // Makes run() return after the current handler.
  void stop() noexcept { stopped_ = true; }

  // Dispatches events until stop(); then ok. Error: poll(2) failed (not EINTR), "poll:
  // <strerror>".
  status run();

 private:
  struct timer {
    timer_id id;
    std::function<void()> fn;
  };
  int poll_timeout_ms() const;
  void fire_due_timers();
  status dispatch_readable();  // one poll(2), then the handlers of readable fds

  std::map<int, std::function<void()>> watched_;
  std::multimap<clock::time_point, timer> timers_;
  timer_id next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace brood::os

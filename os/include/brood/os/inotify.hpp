#pragma once
// A non-blocking inotify instance and its watches: one owner for the spooler's dir watch and the
// emperor's vassal monitor, which keep only their own knowledge of what an event means. The fd
// is level-triggered readable (poll, event_loop) while events are pending. Move-only; not
// thread-safe.
#include <sys/inotify.h>

#include <cstdint>
#include <string>
#include <vector>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {

class inotify_watcher {
 public:
  struct event {
    int wd = -1;             // the watch it concerns; -1 with IN_Q_OVERFLOW (events were lost)
    std::uint32_t mask = 0;  // IN_* bits (IN_ISDIR, IN_IGNORED when the watch is gone, ...)
    std::string name;        // the entry of the watched dir it concerns; "" for the dir itself
  };

  // Opens a non-blocking, close-on-exec inotify instance. Error: "cannot open inotify:
  // <strerror>" (EMFILE when the per-user instance limit is reached).
  static result<inotify_watcher> open();

  // Empty: fd() is -1, add() fails with EBADF, read_events() returns nothing.
  inotify_watcher() = default;

  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  // Watches `path` for the events of `mask` (inotify_add_watch: watching a path again updates
  // its mask and returns the same descriptor). The watch descriptor, or "cannot watch PATH:
  // <strerror>".
  result<int> add(const std::string& path, std::uint32_t mask);

  // The events pending now, in arrival order; empty when none. Never blocks.
  std::vector<event> read_events();
  // Discards the events pending now. Never blocks.
  void drain() noexcept;

 private:
  explicit inotify_watcher(unique_fd fd) : fd_(std::move(fd)) {}

  unique_fd fd_;
};

}  // namespace brood::os

#pragma once
// Signals as readable events: blocks a set of signals in the calling thread and reads them from a
// signalfd. Used by the master instead of asio::signal_set, whose process-global state would leak
// into forked workers. Not thread-safe; REQUIRES: the process's other threads (if any) block
// these signals too, or they may take them.
#include <signal.h>

#include <initializer_list>
#include <system_error>
#include <vector>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {

class signal_source {
 public:
  // Blocks `signals` (remembering the previous mask) and opens a non-blocking, close-on-exec
  // signalfd for them. Error: pthread_sigmask's or signalfd's, "cannot watch signals:
  // <strerror>" (the mask is then restored).
  static result<signal_source> open(std::initializer_list<int> signals);

  // Empty: watches nothing, fd() is -1 (a place to move an opened one into).
  signal_source() = default;
  // Drains what is pending (so unblocking does not deliver it), closes the fd and restores the
  // previous mask. Destroy in the thread that opened it.
  ~signal_source();
  signal_source(signal_source&& o) noexcept;
  signal_source& operator=(signal_source&& o) noexcept;
  signal_source(const signal_source&) = delete;
  signal_source& operator=(const signal_source&) = delete;

  int fd() const noexcept { return fd_.get(); }

  // The signals received since the last call, in arrival order (empty when none).
  std::vector<int> read_pending();

  // In a child right after fork: closes the fd and restores the previous mask, leaving the
  // parent's state alone. The object must not be used (or destroyed) in the child afterwards.
  void release_in_child() noexcept;

 private:
  sigset_t previous_{};
  sigset_t set_{};
  void close() noexcept;  // the destructor's work

  bool blocked_ = false;
  unique_fd fd_;
};

}  // namespace brood::os

#pragma once
// The vassal's end of the emperor control channel (brood/wire/emperor_protocol.hpp). A node started
// by an emperor finds it in UWSGI_EMPEROR_FD; the master owns it and reads the emperor's commands,
// and every process of the node (the workers inherit it by fork) may send single bytes on it.
// The fd is close-on-exec (no exec'd program inherits it) and non-blocking: a send never blocks
// and a failed one is logged, never fatal. Move-only.
#include <atomic>
#include <cstdint>
#include <vector>

#include "brood/os/shared_array.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/emperor_protocol.hpp"

namespace brood::node {

class emperor_link {
 public:
  // Not a vassal: active() is false and send() does nothing.
  emperor_link() = default;
  // Adopts `fd` as the channel: makes it close-on-exec and non-blocking and maps the "loyal was
  // sent" flag shared with the processes forked afterwards. An invalid fd gives an inactive link.
  explicit emperor_link(os::unique_fd fd);
  emperor_link(emperor_link&& other) noexcept = default;
  emperor_link& operator=(emperor_link&& other) noexcept = default;
  emperor_link(const emperor_link&) = delete;
  emperor_link& operator=(const emperor_link&) = delete;

  // Reads UWSGI_EMPEROR_FD. Absent: an inactive link. Not a number or not an open fd: logged, and
  // an inactive link. Present: the link, and the variable is removed from the environment so a
  // program exec'd later never sees a stale fd number. REQUIRES: single-threaded (setenv rules).
  static emperor_link from_environment();

  bool active() const noexcept { return fd_.get() >= 0; }
  int fd() const noexcept { return fd_.get(); }

  // Sends one byte without blocking. EAGAIN, EPIPE and the like are logged and otherwise ignored.
  // Callable from any process of the node; does nothing when inactive.
  void send(wire::vassal_message m) const noexcept;
  // Sends loyal (17) the first time any process of the node calls it; later calls do nothing.
  void send_loyal_once() const noexcept;

  // What one read of the channel found (the master calls it when the fd is readable).
  struct received {
    std::vector<wire::emperor_command> commands;  // in arrival order; may hold unknown values
    bool lost = false;                            // EOF or a read error: the emperor is gone
  };
  received receive() noexcept;

 private:
  os::unique_fd fd_;
  // Shared with the forked workers; set by the const send_loyal_once().
  mutable os::shared_array<std::atomic<bool>> loyal_sent_;
};

}  // namespace brood::node

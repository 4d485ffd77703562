#pragma once
// The os_launcher's handles: a forked vassal with its channel watched on the event_loop, and an
// on-demand listening socket. Internal to the emperor module.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "brood/emperor/launcher.hpp"
#include "brood/os/event_loop.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::emperor {

// A running vassal. The emperor's end of the channel (non-blocking, close-on-exec) is watched
// from construction: each byte read is reported as on_message(pid, byte) in order, the first EOF
// or read error as on_channel_closed(pid), once, after which the fd is no longer watched.
// Handlers may destroy the handle from inside those callbacks. `pidfd` (an adopted vassal's,
// may be empty): signals go through it (pidfd_send_signal), so a recycled pid is never hit.
class os_vassal_process final : public vassal_process {
 public:
  os_vassal_process(os::event_loop& loop, launcher_events& events, pid_t pid, os::unique_fd channel,
                    os::unique_fd pidfd = {});
  ~os_vassal_process() override;
  os_vassal_process(const os_vassal_process&) = delete;
  os_vassal_process& operator=(const os_vassal_process&) = delete;

  pid_t pid() const noexcept override { return pid_; }
  bool send(wire::emperor_command c) noexcept override;
  void signal(int signo) noexcept override;
  // pidfd_getfd of every fd in /proc/PID/fd that is a listening socket (SO_ACCEPTCONN).
  std::vector<os::unique_fd> listening_sockets(std::string& error) override;

 private:
  // Shared with the watch handler, so that a handler running after (or while) the handle is
  // destroyed sees `alive == false` and stops.
  struct channel_state {
    os::event_loop& loop;
    launcher_events& events;
    pid_t pid;
    os::unique_fd fd;
    bool alive = true;    // false once the handle is destroyed
    bool watched = true;  // false once EOF was reported
  };
  static void on_readable(const std::shared_ptr<channel_state>& s);

  pid_t pid_;
  std::shared_ptr<channel_state> state_;
  os::unique_fd pidfd_;
};

// A bound, listening on-demand socket; reported as on_demand_connection(name) whenever a
// connection waits on it while armed (level-triggered: again on every loop pass until the
// connection is accepted or the socket disarmed).
class on_demand_listener final : public on_demand_socket {
 public:
  on_demand_listener(os::event_loop& loop, launcher_events& events, std::string name,
                     std::string address, std::string unix_path, os::unique_fd fd);
  ~on_demand_listener() override;
  on_demand_listener(const on_demand_listener&) = delete;
  on_demand_listener& operator=(const on_demand_listener&) = delete;

  int fd() const noexcept override { return fd_.get(); }
  // The address as given to listen() (a TCP port 0 stays 0: getsockname(fd()) has the real one).
  const std::string& address() const noexcept override { return address_; }
  void arm(bool armed) noexcept override;

 private:
  os::event_loop& loop_;
  launcher_events& events_;
  std::string name_;
  std::string address_;
  std::string unix_path_;  // non-empty for a UNIX socket: unlinked on destruction
  dev_t unix_dev_ = 0;     // the socket file we bound: a file replaced since is not unlinked
  ino_t unix_ino_ = 0;
  os::unique_fd fd_;
  bool armed_ = false;
};

}  // namespace brood::emperor

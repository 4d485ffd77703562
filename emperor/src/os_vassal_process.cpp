// The os_launcher's vassal handle: the emperor's end of the control channel on the event_loop.
#include "os_vassal_process.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "brood/os/log.hpp"

namespace brood::emperor {

os_vassal_process::os_vassal_process(os::event_loop& loop, launcher_events& events, pid_t pid,
                                     os::unique_fd channel)
    : pid_(pid),
      state_(std::make_shared<channel_state>(
          channel_state{loop, events, pid, std::move(channel), true, true})) {
  loop.watch(state_->fd.get(), [s = state_] { on_readable(s); });
}

os_vassal_process::~os_vassal_process() {
  state_->alive = false;
  if (state_->watched) state_->loop.unwatch(state_->fd.get());
  state_->watched = false;
  state_->fd.reset();
}

void os_vassal_process::on_readable(const std::shared_ptr<channel_state>& s) {
  std::array<std::uint8_t, 256> buf;
  // Keep the state alive even if a callback destroys the handle (and the loop's handler copy).
  const std::shared_ptr<channel_state> keep = s;
  while (keep->alive && keep->watched) {
    const ssize_t n = ::read(keep->fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // EOF, or the channel broke
      keep->loop.unwatch(keep->fd.get());
      keep->watched = false;
      keep->events.on_channel_closed(keep->pid);
      return;
    }
    for (ssize_t i = 0; i < n && keep->alive; ++i) keep->events.on_message(keep->pid, buf[i]);
    if (static_cast<std::size_t>(n) < buf.size()) return;  // drained; level-triggered anyway
  }
}

bool os_vassal_process::send(wire::emperor_command c) noexcept {
  const std::uint8_t byte = wire::to_byte(c);
  ssize_t n;
  do {
    n = ::send(state_->fd.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n == 1) return true;
  const int err = n < 0 ? errno : EIO;
  os::log("cannot send command ", int(byte), " to vassal pid ", pid_, ": ", std::strerror(err));
  return false;
}

void os_vassal_process::signal(int signo) noexcept {
  if (pid_ > 0 && ::kill(pid_, signo) != 0 && errno != ESRCH)
    os::log("cannot send signal ", signo, " to vassal pid ", pid_, ": ", std::strerror(errno));
}

}  // namespace brood::emperor

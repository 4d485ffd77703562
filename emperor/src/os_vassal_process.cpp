// The os_launcher's vassal handle: the emperor's end of the control channel on the event_loop.
#include "os_vassal_process.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"

namespace brood::emperor {

os_vassal_process::os_vassal_process(os::event_loop& loop, launcher_events& events, pid_t pid,
                                     os::unique_fd channel, os::unique_fd pidfd)
    : pid_(pid),
      state_(std::make_shared<channel_state>(
          channel_state{loop, events, pid, std::move(channel), true, true})),
      pidfd_(std::move(pidfd)) {
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
  // A legion-placed vassal runs nicer than its emperor (legion-vassal-nice): once killed, its
  // exit (the last step of a placement fence, which the lord's count allows only kill_grace) is
  // run at the emperor's priority. Best effort: lowering a nice value needs CAP_SYS_NICE.
  if (signo == SIGKILL && pid_ > 0) {
    errno = 0;
    const int mine = ::getpriority(PRIO_PROCESS, 0);
    if (errno == 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(pid_), mine);
  }
  if (pidfd_) {
    if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), signo, nullptr, 0) != 0 && errno != ESRCH)
      os::log("cannot send signal ", signo, " to vassal pid ", pid_, ": ", std::strerror(errno));
    return;
  }
  if (pid_ > 0 && ::kill(pid_, signo) != 0 && errno != ESRCH)
    os::log("cannot send signal ", signo, " to vassal pid ", pid_, ": ", std::strerror(errno));
}

std::vector<os::unique_fd> os_vassal_process::listening_sockets(std::string& error) {
  error.clear();
  os::unique_fd opened;
  int pidfd = pidfd_.get();
  if (pidfd < 0) {
    opened.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!opened) {
      error = std::string("pidfd_open: ") + std::strerror(errno);
      return {};
    }
    pidfd = opened.get();
  }
  const std::string dir = "/proc/" + std::to_string(pid_) + "/fd";
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    error = "cannot list " + dir + ": " + std::strerror(errno);
    return {};
  }
  std::vector<int> numbers;
  while (const dirent* e = ::readdir(d.get())) {
    char* end = nullptr;
    const long n = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && n >= 0 && n < (1L << 30))
      numbers.push_back(static_cast<int>(n));
  }
  std::sort(numbers.begin(), numbers.end());
  std::vector<os::unique_fd> out;
  for (int n : numbers) {
    os::unique_fd fd(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, n, 0)));
    if (!fd) {
      if (errno == EBADF) continue;  // closed meanwhile
      error = "pidfd_getfd of fd " + std::to_string(n) + ": " + std::strerror(errno);
      return {};
    }
    if (os::is_listening_socket(fd.get())) out.push_back(std::move(fd));
  }
  return out;
}

}  // namespace brood::emperor

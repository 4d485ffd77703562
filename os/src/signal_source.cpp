#include "brood/os/signal_source.hpp"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace brood::os {

result<signal_source> signal_source::open(std::initializer_list<int> signals) {
  signal_source s;
  ::sigemptyset(&s.set_);
  for (int signo : signals) ::sigaddset(&s.set_, signo);
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &s.set_, &s.previous_); rc != 0)
    return status::from_errno(rc, "cannot watch signals");
  s.blocked_ = true;
  s.fd_.reset(::signalfd(-1, &s.set_, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!s.fd_) return status::last_errno("cannot watch signals");  // `s` restores the mask
  return s;
}

signal_source::~signal_source() { close(); }

signal_source::signal_source(signal_source&& o) noexcept
    : previous_(o.previous_),
      set_(o.set_),
      blocked_(std::exchange(o.blocked_, false)),
      fd_(std::move(o.fd_)) {}

signal_source& signal_source::operator=(signal_source&& o) noexcept {
  if (this != &o) {
    close();
    previous_ = o.previous_;
    set_ = o.set_;
    blocked_ = std::exchange(o.blocked_, false);
    fd_ = std::move(o.fd_);
  }
  return *this;
}

void signal_source::close() noexcept {
  if (fd_) read_pending();
  fd_.reset();
  if (blocked_) ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  blocked_ = false;
}

std::vector<int> signal_source::read_pending() {
  std::vector<int> out;
  signalfd_siginfo info[8];
  for (;;) {
    ssize_t n = ::read(fd_.get(), info, sizeof(info));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(info[0])); ++i)
      out.push_back(static_cast<int>(info[i].ssi_signo));
  }
  return out;
}

void signal_source::release_in_child() noexcept {
  ::close(fd_.release());
  if (blocked_) ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  blocked_ = false;
}

}  // namespace brood::os

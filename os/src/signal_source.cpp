#include "brood/os/signal_source.hpp"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace brood::os {

signal_source::signal_source(std::initializer_list<int> signals) {
  ::sigemptyset(&set_);
  for (int s : signals) ::sigaddset(&set_, s);
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &set_, &previous_); rc != 0) {
    error_ = {rc, std::system_category()};
    return;
  }
  blocked_ = true;
  fd_.reset(::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) error_ = {errno, std::system_category()};
}

signal_source::~signal_source() {
  if (fd_) read_pending();
  fd_.reset();
  if (blocked_) ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
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

// run_worker: the body of a forked worker process (signals, parent death, one io_context).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "brood/node/log.hpp"
#include "brood/node/worker.hpp"

namespace brood::node {
namespace {

using error_code = boost::system::error_code;

// Blocks the stop signals in this thread and reads them from a signalfd instead. Unlike
// asio::signal_set this shares no state with the master's io_context the fork left behind.
// On destruction, drops the signals still pending and restores the mask.
class stop_signals {
 public:
  stop_signals() {
    ::sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) ::sigaddset(&set_, s);
    ::pthread_sigmask(SIG_BLOCK, &set_, &old_);
    fd_ = ::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
  }
  ~stop_signals() {
    const timespec zero{};
    while (::sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  // The signalfd; ownership passes to the caller. -1 if it could not be made.
  int release_fd() noexcept { return std::exchange(fd_, -1); }

 private:
  sigset_t set_{};
  sigset_t old_{};
  int fd_ = -1;
};

// First stop signal: graceful stop; the watcher ends once the worker has no connections left,
// so the io_context runs out of work. Second signal: stop now.
class signal_watcher {
 public:
  signal_watcher(asio::io_context& io, worker& w, int signal_fd)
      : worker_(w), fd_(io), poll_(io) {
    if (signal_fd >= 0) fd_.assign(signal_fd);
  }

  void start() {
    if (!fd_.is_open()) return;
    asio::async_read(fd_, asio::buffer(&info_, sizeof info_),
                     [this](const error_code& ec, std::size_t) { on_signal(ec); });
  }

 private:
  void on_signal(const error_code& ec) {
    if (ec) return;  // closed: the worker is done
    if (++count_ == 1) {
      log("signal ", info_.ssi_signo, ": stopping gracefully");
      worker_.stop_gracefully();
      poll_drained();
      start();
      return;
    }
    log("signal ", info_.ssi_signo, " again: stopping now");
    worker_.stop_now();
    finish();
  }

  // Polls the worker until its last connection is gone (it has no completion event for it).
  void poll_drained() {
    if (worker_.connection_count() == 0) {
      finish();
      return;
    }
    poll_.expires_after(std::chrono::milliseconds(20));
    poll_.async_wait([this](const error_code& ec) {
      if (!ec) poll_drained();
    });
  }

  void finish() {
    error_code ignored;
    fd_.close(ignored);
    poll_.cancel();
  }

  worker& worker_;
  asio::posix::stream_descriptor fd_;
  asio::steady_timer poll_;
  signalfd_siginfo info_{};
  int count_ = 0;
};

}  // namespace

int run_worker(const node_config& cfg, const router& r, std::vector<int> listen_fds) {
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) return 0;  // the parent died before the death signal was armed
  stop_signals signals;
  const int signal_fd = signals.release_fd();
  if (signal_fd < 0) log("signalfd failed: ", std::strerror(errno), "; stop signals ignored");
  asio::io_context io(1);
  worker w(io, r, cfg, std::move(listen_fds));
  signal_watcher watcher(io, w, signal_fd);
  w.start();
  watcher.start();
  io.run();
  return 0;
}

}  // namespace brood::node

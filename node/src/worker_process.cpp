// run_worker: the body of a forked worker process (signals, parent death, one io_context).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>

#include "brood/node/worker.hpp"
#include "brood/os/log.hpp"
#include "brood/os/signal_source.hpp"
#include "worker_process.hpp"

namespace brood::node {
namespace {

using error_code = boost::system::error_code;

// First stop signal: graceful stop; the watcher ends once the worker has no connections left,
// so the io_context runs out of work. Second signal: stop now.
class signal_watcher {
 public:
  signal_watcher(asio::io_context& io, worker& w, os::signal_source& signals,
                 worker_extension* extension)
      : worker_(w), signals_(signals), extension_(extension), fd_(io), poll_(io) {
    if (signals.fd() >= 0) fd_.assign(signals.fd());  // borrowed: released, never closed
  }
  ~signal_watcher() { finish(); }
  signal_watcher(const signal_watcher&) = delete;
  signal_watcher& operator=(const signal_watcher&) = delete;

  void start() {
    if (!fd_.is_open()) return;
    fd_.async_wait(asio::posix::descriptor_base::wait_read, [this](const error_code& ec) {
      if (!ec) on_readable();
    });
  }

 private:
  void on_readable() {
    for (int signo : signals_.read_pending()) {
      if (++count_ == 1) {
        os::log("signal ", signo, ": stopping gracefully");
        if (extension_) extension_->stop();
        worker_.stop_gracefully();
        poll_drained();
      } else {
        os::log("signal ", signo, " again: stopping now");
        if (extension_) extension_->stop();
        worker_.stop_now();
        finish();
        return;
      }
    }
    if (fd_.is_open()) start();
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
    if (fd_.is_open()) {
      error_code ignored;
      fd_.cancel(ignored);
      fd_.release();
    }
    poll_.cancel();
  }

  worker& worker_;
  os::signal_source& signals_;
  worker_extension* extension_;  // may be null
  asio::posix::stream_descriptor fd_;
  asio::steady_timer poll_;
  int count_ = 0;
};

}  // namespace

int run_worker(const node_config& cfg, const router& r, std::vector<int> listen_fds) {
  return run_worker(cfg, r, std::move(listen_fds), {});
}

int run_worker(const node_config& cfg, const router& r, std::vector<int> listen_fds,
               const worker_extension_factory& extend) {
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) return 0;  // the parent died before the death signal was armed
  os::signal_source signals;            // empty (never readable) when the signals cannot be watched
  if (auto opened = os::signal_source::open({SIGINT, SIGTERM, SIGQUIT, SIGHUP}))
    signals = std::move(*opened);
  else
    os::log("cannot watch stop signals: ", opened.error().code().message());
  asio::io_context io(1);
  worker w(io, r, cfg, std::move(listen_fds));
  std::unique_ptr<worker_extension> extension = extend ? extend(io, w) : nullptr;
  signal_watcher watcher(io, w, signals, extension.get());
  w.start();
  watcher.start();
  io.run();
  return 0;
}

}  // namespace brood::node

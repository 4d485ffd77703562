// run_worker: the body of a forked worker process (signals, parent death, one io_context).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "brood/node/worker.hpp"
#include "brood/os/log.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/os/step_trace.hpp"
#include "http_sockets.hpp"
#include "scoreboard.hpp"
#include "worker_process.hpp"

namespace brood::node {
namespace {

using error_code = boost::system::error_code;

// One core: a worker object on its own io_context. Core 0 runs on the process's main thread,
// the others on threads of their own.
struct core {
  core(const node_config& cfg, const router& r, std::vector<int> fds, unsigned id)
      : io(1), w(io, r, cfg, std::move(fds), id) {}
  asio::io_context io;
  worker w;
};

// Duplicates of the listening sockets for one more core (close-on-exec), with their HTTP marks. A
// socket that cannot be duplicated is left out of that core (logged).
std::vector<int> duplicate(const std::vector<int>& fds) {
  std::vector<int> out;
  for (int fd : fds) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
      os::log("cannot duplicate listening fd ", fd, " for a core: ", std::strerror(errno));
      continue;
    }
    if (const detail::http_socket* http = detail::find_http_socket(fd))
      detail::mark_http_socket(copy, http->tls);  // the copy speaks HTTP(S) too
    out.push_back(copy);
  }
  return out;
}

// First stop signal: graceful stop of every core; the watcher ends once core 0 has no
// connections left (the other cores' io_contexts run out of work once theirs are gone). Second
// signal: stop now.
class signal_watcher {
 public:
  signal_watcher(std::vector<std::unique_ptr<core>>& cores, os::signal_source& signals,
                 worker_extension* extension)
      : cores_(cores),
        signals_(signals),
        extension_(extension),
        fd_(cores.front()->io),
        poll_(cores.front()->io) {
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
        each_core([](worker& w) { w.stop_gracefully(); });
        poll_drained();
      } else {
        os::log("signal ", signo, " again: stopping now");
        if (extension_) extension_->stop();
        each_core([](worker& w) { w.stop_now(); });
        finish();
        return;
      }
    }
    if (fd_.is_open()) start();
  }

  // Runs `fn` on every core's worker: core 0 here, the others on their own threads.
  template <class Fn>
  void each_core(Fn fn) {
    fn(cores_.front()->w);
    for (std::size_t i = 1; i < cores_.size(); ++i) {
      worker* w = &cores_[i]->w;
      asio::post(cores_[i]->io, [w, fn] { fn(*w); });
    }
  }

  // Polls core 0 until its last connection is gone (it has no completion event for it).
  void poll_drained() {
    if (cores_.front()->w.connection_count() == 0) {
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

  std::vector<std::unique_ptr<core>>& cores_;
  os::signal_source& signals_;
  worker_extension* extension_;  // may be null
  asio::posix::stream_descriptor fd_;
  asio::steady_timer poll_;
  int count_ = 0;
};

unsigned core_count(const node_config& cfg) { return std::clamp(cfg.threads, 1U, max_cores); }

// Cores made by prepare_worker_cores, for the run_worker of `cfg` and `r` in process `owner` (a
// process forked from it sees none).
struct prepared {
  pid_t owner = 0;
  const node_config* cfg = nullptr;
  const router* r = nullptr;
  std::vector<std::unique_ptr<core>> cores;
};

prepared& prepared_cores() {
  static prepared p;
  return p;
}

// The cores of this process: core 0 takes `listen_fds`, the others duplicates of them; the
// prepared ones when they were made for this run.
std::vector<std::unique_ptr<core>> make_cores(const node_config& cfg, const router& r,
                                              std::vector<int> listen_fds) {
  const unsigned count = core_count(cfg);
  std::vector<std::vector<int>> fds(count);
  for (unsigned i = 1; i < count; ++i) fds[i] = duplicate(listen_fds);
  fds[0] = std::move(listen_fds);
  std::vector<std::unique_ptr<core>> cores;
  prepared& p = prepared_cores();
  if (p.owner == ::getpid() && p.cfg == &cfg && p.r == &r && p.cores.size() == count) {
    cores = std::move(p.cores);
    p = prepared{};
    for (unsigned i = 0; i < count; ++i) cores[i]->w.adopt_listeners(std::move(fds[i]));
    return cores;
  }
  for (unsigned i = 0; i < count; ++i)
    cores.push_back(std::make_unique<core>(cfg, r, std::move(fds[i]), i));
  return cores;
}

}  // namespace

void prepare_worker_cores(const node_config& cfg, const router& r) {
  prepared p{::getpid(), &cfg, &r, {}};
  const unsigned count = core_count(cfg);
  for (unsigned i = 0; i < count; ++i) {
    p.cores.push_back(std::make_unique<core>(cfg, r, std::vector<int>{}, i));
    // An I/O object makes the io_context's reactor (epoll, its eventfd and timerfd) now.
    asio::posix::stream_descriptor reactor(p.cores.back()->io);
  }
  prepared_cores() = std::move(p);
}

namespace {}  // namespace

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
  std::vector<std::unique_ptr<core>> cores = make_cores(cfg, r, std::move(listen_fds));
  worker& first = cores.front()->w;
  std::unique_ptr<worker_extension> extension = extend ? extend(cores.front()->io, first) : nullptr;
  // The extension's per-request hook (the emperor link) runs on core 0's thread.
  if (const std::function<void()>& hook = first.request_done_hook()) {
    for (std::size_t i = 1; i < cores.size(); ++i)
      cores[i]->w.on_request_done([io = &cores.front()->io, hook] { asio::post(*io, hook); });
  }
  signal_watcher watcher(cores, signals, extension.get());
  for (auto& c : cores) c->w.start();
  watcher.start();
  std::vector<std::thread> threads;  // the stop signals stay blocked in them (signal_source)
  for (std::size_t i = 1; i < cores.size(); ++i)
    threads.emplace_back([io = &cores[i]->io] { io->run(); });
  os::step_trace("worker.accepting");
  cores.front()->io.run();
  for (std::thread& t : threads) t.join();
  return 0;
}

}  // namespace brood::node

// serve_fork_server: the base's loop over its unix socket, its signals and its emperor channel;
// one request at a time (fork_server_request.hpp), handed to the warm spare (fork_server_spare.hpp)
// or forked by fork_server_fork.hpp.
#include "brood/node/fork_server.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "brood/os/event_loop.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/os/step_trace.hpp"
#include "emperor_link.hpp"
#include "fork_server_fork.hpp"
#include "fork_server_pages.hpp"
#include "fork_server_prefork.hpp"
#include "fork_server_request.hpp"
#include "fork_server_spare.hpp"
#include "fork_server_text.hpp"

namespace brood::node {
namespace {

using clock = std::chrono::steady_clock;

constexpr int fork_backlog = 64;
// After an accept that failed for lack of resources, accepting resumes this much later.
constexpr std::chrono::milliseconds fork_accept_pause{100};
// A spare that died once ready (killed) is replaced this much later.
constexpr std::chrono::milliseconds spare_respawn_pause{100};

// The bound socket file's identity, so that only this base's file is removed at the end (a
// successor may have bound the same path meanwhile).
struct file_id {
  dev_t dev = 0;
  ino_t ino = 0;
  static file_id of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {st.st_dev, st.st_ino};
  }
  bool operator==(const file_id&) const = default;
};

// The stack a request's service uses in the base, written once after each fork of a spare: the
// fork left every page shared with the spare, so the base's first writes on the next request's
// path would each be a copy-on-write fault (tens of microseconds each here, bench/RESULTS.md).
[[gnu::noinline]] void own_request_stack() {
  volatile char area[64 * 1024];
  for (std::size_t i = 0; i < sizeof(area); i += 4096) area[i] = 0;
}

class fork_server_loop {
 public:
  fork_server_loop(os::bound_socket socket, os::signal_source signals, emperor_link emperor,
                   const fork_server_hooks& hooks, const fork_server_options& options)
      : socket_(std::move(socket)),
        file_(file_id::of(socket_.addr.path)),
        signals_(std::move(signals)),
        emperor_(std::move(emperor)),
        hooks_(hooks),
        io_timeout_(options.io_timeout),
        spare_delay_(options.spare_delay),
        // A spare needs an emperor to be re-parented to (and to reap it).
        spares_(options.spares > 0 && emperor_.active()),
        prefork_(options.prefork),
        emperor_pid_(::getppid()) {}

  fork_server_result run() {
    loop_.watch(socket_.fd.get(), [this] { on_acceptable(); });
    loop_.watch(signals_.fd(), [this] { on_signals(); });
    if (emperor_.active()) loop_.watch(emperor_.fd(), [this] { on_emperor(); });
    const text_sharing shared = share_code_page_tables();
    os::log("fork server: page tables of ", shared.mappings, " code mappings copied by fork",
            shared.failed ? " (" + std::to_string(shared.failed) + " left out" +
                                (shared.strict_overcommit ? ": strict overcommit)" : ")")
                          : std::string());
    os::log("fork server: waiting for requests on ", socket_.name);
    emperor_.send(wire::vassal_message::ready);
    emperor_.send(wire::vassal_message::loyal);
    if (spares_) schedule_spare(std::chrono::milliseconds(0));
    if (os::status st = loop_.run(); !st.ok()) {
      os::log("fork server: ", st.message(), "; stopping");
      status_ = 1;
    }
    if (adopted_ || spare_link_) return become_vassal();
    if (file_id::of(socket_.addr.path) == file_) ::unlink(socket_.addr.path.c_str());
    return {std::nullopt, status_};
  }

 private:
  void on_acceptable() {
    os::unique_fd conn(::accept4(socket_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
        return;
      os::log("fork server: accept failed: ", std::strerror(errno), "; retrying in ",
              fork_accept_pause.count(), " ms");
      loop_.pause_watch(socket_.fd.get(), fork_accept_pause, [this] { on_acceptable(); });
      return;
    }
    serve(std::move(conn));
  }

  // One request: read, fork; in the grandchild, stops the loop with the request kept. The base
  // accepts only while it has no ready spare (the spare accepts then), or in the moment before it
  // read the spare's announcement: such a request is forked directly.
  void serve(os::unique_fd conn) {
    os::step_trace("base.accepted");
    std::optional<received_fork_request> in = read_or_refuse(conn.get(), io_timeout_);
    if (!in) return;  // its fds and the connection closed, no reply
    const fork_outcome out = fork_twice(hooks_);
    if (out.adopted) {
      adopted_ = std::make_unique<received_fork_request>(std::move(*in));
      conn_ = std::move(conn);
      intermediate_ = out.intermediate;
      loop_.stop();
      return;
    }
    if (out.forked) {
      os::log("fork server: forked an adopted vassal for ", in->request.argv[0], " (",
              in->request.argv.size(), " args, ", in->fds.size(), " fds; request of pid ",
              in->peer_pid, ")");
    } else {
      os::log("fork server: the request of pid ", in->peer_pid, " was not forked");
    }
    if (!spare_fd_) schedule_spare(spare_delay_);
  }

  // Creates the spare `delay` from now, unless one exists or is due; a no-op without spares.
  void schedule_spare(std::chrono::milliseconds delay) {
    if (!spares_ || spare_fd_ || spare_timer_) return;
    spare_timer_ = loop_.after(delay, [this] {
      spare_timer_.reset();
      make_spare();
    });
  }

  // Forks the spare: the double fork of a request, ahead of it. In the spare, stops the loop.
  void make_spare() {
    if (spare_fd_) return;
    auto link = spare_link();
    if (!link) {
      os::log("fork server: no spare: ", link.error().message());
      return;
    }
    const fork_outcome out = fork_twice(hooks_);
    if (out.adopted) {
      link->first.reset();
      spare_link_ = std::move(link->second);
      intermediate_ = out.intermediate;
      loop_.stop();
      return;
    }
    if (!out.forked) {
      os::log("fork server: no spare: its fork failed");
      return;
    }
    spare_fd_ = std::move(link->first);
    loop_.watch(spare_fd_.get(), [this] { on_spare(); });
    own_request_stack();
    written_ahead::write_ahead_recorded(written_ahead::role::base);
  }

  // The spare's end is readable: its pid (ready: it accepts the next request, the base does not),
  // a request it took, or EOF (it died).
  void on_spare() {
    const spare_message m = read_spare_message(spare_fd_.get());
    switch (m.what) {
      case spare_message::kind::none:
        return;
      case spare_message::kind::ready:
        spare_pid_ = m.pid;
        loop_.unwatch(socket_.fd.get());
        os::log("fork server: spare ready (pid ", m.pid, ")");
        return;
      case spare_message::kind::taken:
        written_ahead::record_base_once();
        os::log("fork server: adopted vassal pid ", spare_pid_, " from the spare for ", m.summary);
        forget_spare();
        schedule_spare(spare_delay_);
        return;
      case spare_message::kind::gone:
        break;
    }
    const bool was_ready = spare_pid_ > 0;
    os::log("fork server: the spare",
            was_ready ? " (pid " + std::to_string(spare_pid_) + ")" : std::string(),
            " is gone; requests are forked directly until the next spare");
    forget_spare();
    // A spare that never got ready (its emperor gone) is retried only after the next request.
    if (was_ready) schedule_spare(spare_respawn_pause);
  }

  // Drops the link to the spare; the base accepts again when it had left that to a ready spare.
  void forget_spare() {
    if (!spare_fd_) return;
    loop_.unwatch(spare_fd_.get());
    spare_fd_.reset();
    if (spare_pid_ > 0 && socket_.fd) loop_.watch(socket_.fd.get(), [this] { on_acceptable(); });
    spare_pid_ = 0;
  }

  void on_signals() {
    for (int sig : signals_.read_pending()) {
      const char* name = ::sigabbrev_np(sig);
      os::log("fork server: SIG", name ? name : std::to_string(sig).c_str(), " received; stopping");
      status_ = 0;
      loop_.stop();
    }
  }

  void on_emperor() {
    const emperor_link::received got = emperor_.receive();
    if (!got.commands.empty()) {
      os::log("fork server: the emperor sent byte ", static_cast<int>(got.commands.front()),
              "; stopping");
      status_ = 0;
      loop_.stop();
    } else if (got.lost) {
      os::log("fork server: the emperor channel is closed; stopping");
      status_ = 1;
      loop_.stop();
    }
  }

  // In the grandchild: drops the base's own fds (the socket file stays), then the vassal's set-up.
  fork_server_result become_vassal() {
    loop_.unwatch(socket_.fd.get());
    loop_.unwatch(signals_.fd());
    if (emperor_.active()) loop_.unwatch(emperor_.fd());
    if (!spare_link_) socket_.fd.reset();  // a spare accepts its request on it, then closes it
    signals_.release_in_child();
    emperor_ = emperor_link();
    forget_spare();  // a vassal forked directly holds no spare's link
    if (spare_link_) return serve_as_spare();
    settle_adopted_vassal(*adopted_, std::move(conn_), intermediate_, emperor_pid_,
                          clock::now() + io_timeout_);
    return {std::move(adopted_->request.argv), 0};
  }

  // In the spare, once the base's fds are closed: re-parented, it announces itself, then waits
  // for one request and settles as the adopted vassal of it.
  fork_server_result serve_as_spare() {
    await_emperor_parent(intermediate_, emperor_pid_, "fork server spare");
    // The worker-to-be is forked before the spare's warm-up, so that each takes its own
    // copy-on-write faults ahead (a fork after it would share the spare's copied pages again).
    os::unique_fd worker_link;
    pid_t worker = -1;
    if (prefork_) {
      std::optional<fork_server_result> in_worker = fork_worker_to_be(worker_link, worker);
      if (in_worker) return std::move(*in_worker);
    }
    if (worker > 0 && hooks_.master_warm_up)
      hooks_.master_warm_up();
    else if (hooks_.spare_warm_up)
      hooks_.spare_warm_up();
    // Ready only with its worker-to-be warmed up too: a request that came before would find it
    // still rehearsing, with the vassal's worker start-up queued behind the rehearsal.
    if (worker > 0 && !await_worker_to_be(worker_link.get())) {
      os::log("fork server spare: its pre-forked worker (pid ", worker,
              ") never got ready; worker 1 will be forked");
      ::kill(worker, SIGKILL);
      while (::waitpid(worker, nullptr, 0) < 0 && errno == EINTR) {
      }
      worker_link.reset();
      worker = -1;
    }
    if (worker > 0) build_board_ahead();
    written_ahead::write_ahead_recorded(written_ahead::role::master);
    settle_signals_ahead();
    if (!announce_spare(spare_link_.get())) ::_exit(0);  // the base is gone already
    os::unique_fd conn;
    received_fork_request in =
        await_direct_request(socket_.fd.get(), spare_link_.get(), io_timeout_, conn);
    os::step_trace("spare.got");
    socket_.fd.reset();
    if (worker > 0) {
      // First, so that the worker-to-be starts while this process settles.
      os::status st = in.request.config_fd
                          ? os::status(std::make_error_code(std::errc::not_supported),
                                       "the request carries a config fd")
                          : hand_to_spare(worker_link.get(), in, conn.get());
      become_prefork_master(worker, std::move(worker_link));
      if (!st.ok()) dismiss_preforked_worker(st.message());
    }
    const std::string summary = in.request.argv[0] + " (" + std::to_string(in.request.argv.size()) +
                                " args, " + std::to_string(in.fds.size()) +
                                " fds; request of pid " + std::to_string(in.peer_pid) + ")";
    export_request_and_reply(in, std::move(conn), clock::now() + io_timeout_);
    os::step_trace("spare.replied");
    // The base logs it and accepts again (a base already gone: nothing to tell).
    report_taken(spare_link_.get(), summary);
    spare_link_.reset();
    log_adopted(in.request);
    return {std::move(in.request.argv), 0};
  }

  // In the spare: forks its worker-to-be, linked by `link`, its pid in `worker` (-1 when the
  // fork failed, logged). Returns in the worker-to-be only, once it got the request: its argv.
  std::optional<fork_server_result> fork_worker_to_be(os::unique_fd& link, pid_t& worker) {
    auto pair = spare_link();
    if (!pair) {
      os::log("fork server spare: no pre-forked worker: ", pair.error().message());
      return std::nullopt;
    }
    const pid_t spare = ::getpid();
    std::fflush(nullptr);
    call(hooks_.before_prefork);
    const pid_t pid = ::fork();
    if (pid == 0) {
      call(hooks_.after_prefork_child);
      pair->first.reset();
      spare_link_.reset();  // the base must see EOF when the spare dies
      socket_.fd.reset();   // the spare accepts the request
      return serve_as_worker_to_be(std::move(pair->second), spare);
    }
    const int fork_errno = errno;
    call(hooks_.after_prefork_parent);
    if (pid < 0) {
      os::log("fork server spare: cannot fork its worker: ", std::strerror(fork_errno));
      return std::nullopt;
    }
    link = std::move(pair->first);
    worker = pid;
    return std::nullopt;
  }

  // In the worker-to-be: dies with its spare, warms up, then waits for the request the spare
  // forwards (EOF: the spare is gone or dismissed it, _exit(0)) and exports it as the spare does,
  // without a reply.
  fork_server_result serve_as_worker_to_be(os::unique_fd link, pid_t spare) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != spare) ::_exit(0);
    if (hooks_.spare_warm_up) hooks_.spare_warm_up();
    written_ahead::write_ahead_recorded(written_ahead::role::worker);
    settle_signals_ahead();
    if (!announce_worker_to_be(link.get())) ::_exit(0);  // the spare is gone
    os::unique_fd conn;
    received_fork_request in = await_spare_request(link.get(), conn);
    os::step_trace("wtb.got");
    conn.reset();
    export_request(in);
    become_prefork_worker(std::move(link));
    return {std::move(in.request.argv), 0};
  }

  static void call(const std::function<void()>& hook) {
    if (hook) hook();
  }

  os::event_loop loop_;
  os::bound_socket socket_;
  file_id file_;
  os::signal_source signals_;
  emperor_link emperor_;
  const fork_server_hooks& hooks_;
  std::chrono::milliseconds io_timeout_;
  std::chrono::milliseconds spare_delay_;
  bool spares_;
  bool prefork_;
  pid_t emperor_pid_;
  int status_ = 0;
  // The base's end of its spare's link, the spare's pid once it is ready (0 before), and the
  // timer that creates the next spare.
  os::unique_fd spare_fd_;
  pid_t spare_pid_ = 0;
  std::optional<os::event_loop::timer_id> spare_timer_;
  // Set in the grandchild only.
  std::unique_ptr<received_fork_request> adopted_;
  os::unique_fd conn_;
  pid_t intermediate_ = -1;
  // Set in the spare only: its end of the link.
  os::unique_fd spare_link_;
};

}  // namespace

fork_server_result serve_fork_server(const std::string& path, const fork_server_hooks& hooks,
                                     std::chrono::milliseconds io_timeout) {
  fork_server_options options;
  options.io_timeout = io_timeout;
  return serve_fork_server(path, hooks, options);
}

fork_server_result serve_fork_server(const std::string& path, const fork_server_hooks& hooks,
                                     const fork_server_options& options) {
  auto signals = os::signal_source::open({SIGINT, SIGTERM, SIGQUIT});
  if (!signals) {
    os::log("fork server: ", signals.error().message());
    return {std::nullopt, 2};
  }
  emperor_link emperor = emperor_link::from_environment();
  os::address addr;
  addr.type = os::address::kind::unix_path;
  addr.path = path;
  os::bind_options opts;
  opts.unix_mode = 0600;
  auto bound = os::bind_socket(addr, fork_backlog, os::accept_when::connected, opts);
  if (!bound) {
    os::log("fork server: ", bound.error().message());
    return {std::nullopt, 2};
  }
  const int on = 1;
  if (::setsockopt(bound->fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    os::log("fork server: cannot set SO_PASSCRED on ", path, ": ", std::strerror(errno));
    ::unlink(path.c_str());
    return {std::nullopt, 2};
  }
  if (options.prefork) written_ahead::open_area();
  fork_server_loop server(std::move(*bound), std::move(*signals), std::move(emperor), hooks,
                          options);
  fork_server_result r = server.run();
  if (r.adopted_argv) os::step_trace("fork_server.returning");
  return r;
}

}  // namespace brood::node

// master: the event sources (signalfd, the emperor channel, one timer) turned into master_core
// events, and the master's resources: the scoreboard, the launcher, the stats server.
#include "master.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <ctime>
#include <system_error>

#include "brood/node/fork_server.hpp"
#include "brood/os/child_process.hpp"
#include "brood/os/inherited_sockets.hpp"
#include "brood/os/log.hpp"
#include "brood/os/socket_address.hpp"
#include "fork_server_prefork.hpp"

namespace brood::node {
namespace {

// While alive, SIGCHLD has its default disposition: an inherited SIG_IGN would make the kernel
// reap the workers behind the master's back.
class sigchld_default {
 public:
  sigchld_default() {
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl, &previous_);
  }
  ~sigchld_default() { ::sigaction(SIGCHLD, &previous_, nullptr); }
  sigchld_default(const sigchld_default&) = delete;
  sigchld_default& operator=(const sigchld_default&) = delete;

 private:
  struct sigaction previous_ = {};
};

}  // namespace

moment moment::now() noexcept {
  const std::int64_t us = scoreboard_now_us();
  return {std::chrono::steady_clock::now(), static_cast<std::time_t>(us / 1000000), us};
}

master::master(const node_config& cfg, const router& r, const node_hooks& hooks,
               std::vector<int> listen_fds, emperor_link& emperor)
    : cfg_(cfg), router_(r), hooks_(hooks), listen_fds_(std::move(listen_fds)), emperor_(emperor) {}

master::~master() {
  if (!core_) return;
  // Only after a failure (an exception, the loop failing): no child outlives its master object.
  core_->kill_all_now();
  for (pid_t pid : core_->live_pids()) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

int master::run() {
  auto signals = os::signal_source::open({SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD});
  if (!signals) {
    os::log(signals.error().message());
    return 1;
  }
  signals_ = std::move(*signals);
  sigchld_default chld;
  try {
    // Pressure events for brood's cheaper algorithm and for the SOS triggers.
    const bool pressure = (cfg_.cheaper.enabled() && cfg_.cheaper.algo == cheaper_algo::brood) ||
                          cfg_.vassal_sos.count() > 0 || cfg_.vassal_sos_backlog > 0;
    // Passable when a pre-forked worker is to get it (fork_server_prefork.hpp); built ahead by
    // the fork server's spare when the node has the default shape.
    const std::size_t workers = std::max(1u, cfg_.processes);
    const bool checks = cfg_.lifetime.worker_checks();
    board_ = take_board_ahead(workers, pressure, checks);
    if (!board_)
      board_ = std::make_unique<scoreboard>(workers, pressure, checks, holds_preforked_worker());
  } catch (const std::system_error& e) {
    os::log(e.what());
    return 1;
  }
  launcher_ = std::make_unique<os_master_launcher>(
      cfg_, router_, hooks_, listen_fds_, emperor_, *board_,
      [this] {
        signals_.release_in_child();
        if (stats_) stats_->release_in_child();
        if (fifo_) fifo_->release_in_child();
        if (zerg_server_) zerg_server_->release_in_child();
      },
      [this](bool on) { wait_for_connection(on); });
  if (!launcher_->prepare_spoolers()) return 1;
  core_ = std::make_unique<master_core>(master_core_config::from(cfg_, launcher_->spooler_slots()),
                                        *launcher_, *board_);
  core_->start_spoolers(moment::now());
  if (!start_stats() || !start_fifo() || !start_zerg_server() || !start_subscriber()) return 1;
  os::inherited_sockets::of_process().close_leftovers();  // what bind_all and the stats left
  loop_.watch(signals_.fd(), [this] { on_signals(); });
  if (emperor_.active()) loop_.watch(emperor_.fd(), [this] { on_emperor(); });
  if (board_->pressure_fd() >= 0) loop_.watch(board_->pressure_fd(), [this] { on_pressure(); });
  if (board_->recycle_fd() >= 0) loop_.watch(board_->recycle_fd(), [this] { on_recycle(); });
  start_process_options();  // before "node ready": a touch after it is seen
  core_->start_workers(moment::now());
  dismiss_preforked_worker("worker 1 was not started at once");  // nothing once handed over
  after_event();
  const os::status st = loop_.run();
  stop_daemons();
  loop_.unwatch(signals_.fd());
  if (emperor_.active()) loop_.unwatch(emperor_.fd());
  if (board_->pressure_fd() >= 0) loop_.unwatch(board_->pressure_fd());
  if (board_->recycle_fd() >= 0) loop_.unwatch(board_->recycle_fd());
  wait_for_connection(false);
  if (core_->handed_over()) {  // the successor serves these sockets: their files stay
    if (stats_) stats_->keep_socket_file();
    if (zerg_server_) zerg_server_->keep_socket_file();
  }
  fifo_.reset();
  zerg_server_.reset();
  if (!st.ok()) {
    os::log("master loop failed: ", st.message(), "; killing the workers");
    return 1;  // the destructor kills and reaps them
  }
  return core_->exit_status();
}

void master::on_signals() {
  for (int signo : signals_.read_pending()) {
    switch (signo) {
      case SIGCHLD:
        for (os::reaped_child c = os::reap_one(); c.pid > 0; c = os::reap_one())
          if (!daemons_ || !daemons_->on_exit(c.pid, std::chrono::steady_clock::now()))
            core_->on_exit(c.pid, c.status, moment::now());
        break;
      case SIGHUP:
        core_->on_reload_signal(moment::now());
        break;
      default:
        core_->on_stop_signal(signo, moment::now());
        break;
    }
    if (core_->finished()) loop_.stop();
  }
  after_event();
}

// The channel is readable: commands, or EOF/error (the emperor is lost).
void master::on_emperor() {
  auto got = emperor_.receive();
  for (wire::emperor_command c : got.commands) core_->on_emperor_command(c, moment::now());
  if (got.lost) {
    loop_.unwatch(emperor_.fd());  // level-triggered EOF would fire forever
    core_->on_emperor_lost(moment::now());
  }
  after_event();
}

void master::on_recycle() {
  if (board_->take_recycle()) core_->on_recycling(moment::now());
  after_event();
}

void master::on_pressure() {
  if (board_->take_pressure()) core_->on_pressure(moment::now());
  after_event();
}

void master::wait_for_connection(bool on) {
  for (int fd : listen_fds_) {
    if (on)
      loop_.watch(fd, [this] { on_listen_ready(); });
    else
      loop_.unwatch(fd);
  }
}

// Cheap mode: a connection waits on a listening socket (the workers will accept it).
void master::on_listen_ready() {
  core_->on_connection_waiting(moment::now());
  after_event();
}

void master::on_timer() {
  timer_ = 0;
  core_->on_tick(moment::now());
  after_event();
}

bool master::start_subscriber() {
  if (!cfg_.subscription.any()) return true;
  subscriber_node node;
  node.configured = cfg_.sockets;
  for (int fd : listen_fds_) node.bound.push_back(os::local_name(fd));
  node.cores = std::uint64_t{std::max(1u, cfg_.processes)} * std::max(1u, cfg_.threads);
  datagrams_ = std::make_unique<os_datagram_out>();
  try {
    subscriber_ = std::make_unique<subscriber>(cfg_.subscription, std::move(node), *datagrams_);
  } catch (const std::invalid_argument& e) {
    os::log(e.what());
    return false;
  }
  launcher_->set_subscriber(subscriber_.get());
  return true;
}

bool master::start_zerg_server() {
  if (cfg_.zerg_server.empty()) return true;
  auto server = zerg_server::open(loop_, cfg_.zerg_server, listen_fds_, [this] {
    core_->on_zerg_attached(moment::now());
    after_event();
  });
  if (!server) {
    os::log(server.error().message());
    return false;
  }
  zerg_server_ = std::move(*server);
  os::log("*** Zerg server enabled on ", zerg_server_->name(), " ***");
  return true;
}

void master::after_event() {
  if (core_->finished()) loop_.stop();
  if (timer_) loop_.cancel(timer_);
  timer_ = 0;
  if (const auto due = core_->next_deadline()) timer_ = loop_.at(*due, [this] { on_timer(); });
  arm_daemon_timer();
}

}  // namespace brood::node

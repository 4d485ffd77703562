// os_master_launcher: the forks of the node master and what runs in its children.
#include "os_master_launcher.hpp"

#include <ctime>

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include "brood/node/hooks.hpp"
#include "brood/node/worker.hpp"
#include "brood/os/child_process.hpp"
#include "brood/os/log.hpp"
#include "brood/os/process_memory.hpp"
#include "brood/os/process_title.hpp"
#include "fork_server_prefork.hpp"
#include "node_lifecycle.hpp"
#include "vassal_worker.hpp"
#include "worker_process.hpp"

namespace brood::node {

os_master_launcher::os_master_launcher(const node_config& cfg, const router& r,
                                       const node_hooks& hooks, const std::vector<int>& listen_fds,
                                       emperor_link& emperor, scoreboard& board,
                                       std::function<void()> release_in_child,
                                       std::function<void(bool)> wait_for_connection)
    : cfg_(cfg),
      router_(r),
      hooks_(hooks),
      listen_fds_(listen_fds),
      emperor_(emperor),
      board_(board),
      release_in_child_(std::move(release_in_child)),
      wait_for_connection_(std::move(wait_for_connection)) {
  // Without the netlink socket only TCP listeners are measured.
  if (auto probe = os::listen_queue_probe::open())
    probe_ = std::move(*probe);
  else
    os::log(probe.error().message(), ": unix sockets' listen queues are not measured");
}

os_master_launcher::~os_master_launcher() {
  if (spooler_board_ && hooks_.spooler_board) hooks_.spooler_board(nullptr);
}

bool os_master_launcher::prepare_spoolers() {
  const spooler::spooler_config& sc = cfg_.spooler;
  if (sc.dirs.empty()) return true;
  std::vector<std::string> all = sc.dirs;
  all.insert(all.end(), sc.external_dirs.begin(), sc.external_dirs.end());
  std::vector<std::string> slot_dirs;
  try {
    store_ =
        std::make_unique<spooler::spool_store>(all, spooler::spool_store_options::of(sc, false));
    for (std::size_t d = 0; d < sc.dirs.size(); ++d)
      for (unsigned i = 0; i < std::max(1u, sc.processes); ++i)
        slot_dirs.push_back(store_->dirs()[d]);
    spooler_board_ = std::make_unique<spooler::spooler_board>(slot_dirs);
  } catch (const std::system_error& e) {
    os::log("cannot run the spooler: ", e.what());
    return false;
  }
  if (hooks_.spooler_board) hooks_.spooler_board(spooler_board_.get());
  return true;
}

pid_t os_master_launcher::fork_with_hooks(const std::function<int()>& body, std::error_code& ec) {
  if (hooks_.before_fork) hooks_.before_fork();
  // The child dies with the master from its first step: armed before the child's hooks and app
  // load, and checked against the master's pid taken here (a getppid() taken in the child would
  // already name the reaper if the master died first). Without it a worker forked just before
  // the master was SIGKILLed (a fenced legion vassal) lived on, serving on the vassal's socket.
  const pid_t master = ::getpid();
  const auto forked = os::fork_child([&body, master] {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != master) return 0;  // the master died before the signal was armed
    return body();
  });
  if (hooks_.after_fork_parent) hooks_.after_fork_parent();
  if (!forked) {
    ec = forked.error().code();
    return -1;
  }
  return *forked;
}

pid_t os_master_launcher::spawn_worker(unsigned id, unsigned generation, std::error_code& ec) {
  // The fork server's pre-forked worker is the first worker 1 (fork_server_prefork.hpp).
  if (id == 1 && generation == 0 && holds_preforked_worker())
    if (const pid_t pid = hand_to_preforked_worker(listen_fds_, board_); pid > 0) return pid;
  return fork_with_hooks([this, id] { return worker_body(id); }, ec);
}

pid_t os_master_launcher::spawn_spooler(std::size_t slot, std::error_code& ec) {
  const pid_t pid = fork_with_hooks([this, slot] { return spooler_body(slot); }, ec);
  if (pid > 0) spooler_board_->set_pid(slot, pid);
  return pid;
}

void os_master_launcher::signal(pid_t pid, int signo) noexcept { ::kill(pid, signo); }

void os_master_launcher::spooler_exited(std::size_t slot) noexcept {
  spooler_board_->set_pid(slot, 0);
  // The harakiri deadline of a dead process must not kill its successor; the running path stays
  // for the successor's crash recovery.
  if (spooler_board_->harakiri_deadline(slot) != 0)
    spooler_board_->set_running(slot, spooler_board_->running(slot), 0);
}

// The board keeps CLOCK_MONOTONIC nanoseconds: the steady clock's epoch on Linux.
std::optional<master_launcher::time_point> os_master_launcher::spooler_deadline(
    std::size_t slot) const noexcept {
  const std::int64_t ns = spooler_board_->harakiri_deadline(slot);
  if (ns == 0) return std::nullopt;
  return time_point(std::chrono::duration_cast<time_point::duration>(std::chrono::nanoseconds(ns)));
}

std::string os_master_launcher::spooler_dir(std::size_t slot) const {
  return spooler_board_->dir(slot);
}

std::string os_master_launcher::spooler_task(std::size_t slot) const {
  return spooler_board_->running(slot);
}

void os_master_launcher::tell_emperor(wire::vassal_message m) noexcept { emperor_.send(m); }

bool os_master_launcher::has_emperor() const noexcept { return emperor_.active(); }

std::uint64_t os_master_launcher::listen_backlog() noexcept {
  std::uint64_t longest = 0;
  for (int fd : listen_fds_)
    if (const auto q = probe_.query(fd)) longest = std::max(longest, q->queue);
  return longest;
}

void os_master_launcher::send_subscriptions(bool unsubscribe) noexcept {
  if (!subscriber_) return;
  try {
    subscriber_->round(unsubscribe, listen_backlog(),
                       static_cast<std::int64_t>(std::time(nullptr)));
  } catch (const std::exception& e) {  // an allocation failure: the next round tries again
    os::log("subscriptions: ", e.what());
  }
}

std::uint64_t os_master_launcher::worker_rss(pid_t pid) noexcept {
  const auto mem = os::read_process_memory(pid);
  return mem ? mem->rss : 0;
}

std::uint64_t os_master_launcher::worker_vsz(pid_t pid) noexcept {
  const auto mem = os::read_process_memory(pid);
  return mem ? mem->vsz : 0;
}

// "wchan: X, syscall: Y" from /proc/PID/wchan and /proc/PID/syscall.
std::string os_master_launcher::stuck_details(pid_t pid) {
  auto first_line = [pid](const char* file) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
    std::string line;
    std::getline(in, line);
    return line.empty() ? std::string("?") : line;
  };
  return "wchan: " + first_line("wchan") + ", syscall: " + first_line("syscall");
}

void os_master_launcher::wait_for_connection(bool on) {
  if (wait_for_connection_) wait_for_connection_(on);
}

// Runs in the forked child: drop what belongs to the master, then serve.
int os_master_launcher::worker_body(unsigned id) {
  release_in_child_();
  probe_ = {};
  board_.claim(id);
  return serve_worker_process(cfg_, router_, hooks_, listen_fds_, emperor_, id);
}

int serve_worker_process(const node_config& cfg, const router& r, const node_hooks& hooks,
                         const std::vector<int>& listen_fds, const emperor_link& emperor,
                         unsigned id) {
  if (cfg.process.no_orphans) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (std::optional<int> failed = start_worker_process(cfg, hooks, id)) return *failed;
  return run_worker_process(cfg, r, listen_fds, emperor, id);
}

std::optional<int> start_worker_process(const node_config& cfg, const node_hooks& hooks,
                                        unsigned id) {
  os::set_log_role("worker " + std::to_string(id));
  if (std::string title = process_title(cfg.process, static_cast<int>(id)); !title.empty())
    os::set_process_title(title);
  if (hook_outcome h = run_hooks(cfg.process, hook_point::post_fork); !h.ok())
    return *h.exit_status;
  if (hooks.worker_start && !hooks.worker_start(id)) return failed_app_status;
  return std::nullopt;
}

int run_worker_process(const node_config& cfg, const router& r, const std::vector<int>& listen_fds,
                       const emperor_link& emperor, unsigned id) {
  if (hook_outcome h = run_hooks(cfg.process, hook_point::accepting); !h.ok())
    return *h.exit_status;
  return run_worker(cfg, r, listen_fds, [&emperor, &cfg, id](asio::io_context& io, worker& w) {
    return vassal_worker::make(io, w, emperor, id, cfg.heartbeat);
  });
}

// Runs in the forked child: drop what belongs to the master, then run tasks.
int os_master_launcher::spooler_body(std::size_t slot) {
  release_in_child_();
  probe_ = {};
  os::set_log_role("spooler");
  if (std::string title = process_title(cfg_.process, -1); !title.empty())
    os::set_process_title(title);
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) return 0;  // the master died before the death signal was armed
  if (hooks_.spooler_start && !hooks_.spooler_start(spooler_board_->dir(slot)))
    return failed_app_status;
  return spooler::run_spooler(cfg_.spooler, *store_, *spooler_board_, slot, hooks_.spooler);
}

}  // namespace brood::node

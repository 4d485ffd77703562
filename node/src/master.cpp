#include "master.hpp"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>

#include "brood/node/worker.hpp"
#include "brood/os/child_process.hpp"
#include "brood/os/log.hpp"
#include "vassal_worker.hpp"
#include "worker_process.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;

// A failed fork is retried after this.
constexpr auto fork_retry = 1s;

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

long long ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

master::master(const node_config& cfg, const router& r, const node_hooks& hooks,
               std::vector<int> listen_fds, emperor_link& emperor)
    : cfg_(cfg),
      router_(r),
      hooks_(hooks),
      listen_fds_(std::move(listen_fds)),
      spoolers_(cfg, hooks, loop_, signals_),
      slots_(std::max(1u, cfg.processes)),
      emperor_(emperor) {}

master::~master() {
  // Only after a failure (an exception, the loop failing): no worker outlives its master object.
  kill_all_now();
  while (!children_.empty()) {
    pid_t pid = children_.begin()->first;
    if (::waitpid(pid, nullptr, 0) == pid || errno != EINTR) children_.erase(pid);
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
  if (!spoolers_.start()) return 1;
  if (!start_stats()) return 1;
  loop_.watch(signals_.fd(), [this] { on_signals(); });
  if (emperor_.active()) loop_.watch(emperor_.fd(), [this] { on_emperor(); });
  for (unsigned id = 1; id <= slots_.size(); ++id) spawn(id, false);
  const os::status st = loop_.run();
  loop_.unwatch(signals_.fd());
  if (emperor_.active()) loop_.unwatch(emperor_.fd());
  if (!st.ok()) {
    os::log("master loop failed: ", st.message(), "; killing the workers");
    return 1;  // the destructor kills and reaps them
  }
  return exit_status_;
}

// ---- event handlers ----------------------------------------------------------------------

void master::on_signals() {
  for (int signo : signals_.read_pending()) {
    switch (signo) {
      case SIGCHLD:
        for (os::reaped_child c = os::reap_one(); c.pid > 0; c = os::reap_one())
          if (!spoolers_.on_exit(c.pid, c.status)) on_child_exit(c.pid, c.status);
        break;
      case SIGHUP:
        on_reload_signal();
        break;
      default:
        on_stop_signal(signo);
        break;
    }
    if (all_stopped() && phase_ == phase::stopping) loop_.stop();
  }
}

void master::on_stop_signal(int signo) {
  if (phase_ == phase::stopping) {
    os::log("stop signal ", ::sigabbrev_np(signo), " received again: killing all workers now");
    kill_all_now();
    return;
  }
  stop_gracefully(std::string("SIG") + ::sigabbrev_np(signo) + " received");
}

void master::on_reload_signal() {
  if (phase_ != phase::running) {
    os::log("SIGHUP ignored: the node is stopping");
    return;
  }
  ++reloads_;
  os::log("graceful reload of workers (reload ", reloads_, ")");
  cancel_respawns();
  std::vector<pid_t> old;
  for (auto& [pid, c] : children_)
    if (!c.retiring) old.push_back(pid);
  // The new generation first: the listening sockets never lack a worker for long, and they stay
  // open in the master, so connections wait in the backlog rather than being refused.
  for (unsigned id = 1; id <= slots_.size(); ++id) {
    slot_of(id).pid = 0;
    slot_of(id).backoff.reset();
    spawn(id, false);
  }
  const auto deadline = clock::now() + cfg_.reload_mercy;
  for (pid_t pid : old) tell_to_stop(pid, children_.at(pid), deadline);
  spoolers_.stop(deadline, true);  // each restarts once it has finished its task
  arm_mercy_timer();
  if (old.empty()) reload_completed();
}

void master::on_child_exit(pid_t pid, int status) {
  auto it = children_.find(pid);
  if (it == children_.end()) return;  // not a worker of ours
  const child c = it->second;
  children_.erase(it);
  if (board_) board_->record_exit(c.id, pid);
  if (c.retiring) {
    bool any_left = std::any_of(children_.begin(), children_.end(),
                                [](const auto& entry) { return entry.second.retiring; });
    if (!any_left && phase_ == phase::running) reload_completed();
    return;
  }
  slot_of(c.id).pid = 0;
  if (phase_ != phase::running) return;
  os::log("DAMN ! worker ", c.id, " (pid: ", pid, ") ", os::describe_exit(status),
          " :( trying respawn ...");
  schedule_respawn(c.id, clock::now() - c.spawned);
}

void master::on_respawn_due(unsigned id) {
  slot_of(id).respawn_timer = 0;
  if (phase_ == phase::running && slot_of(id).pid == 0) spawn(id, true);
}

void master::on_mercy_due() {
  mercy_timer_ = 0;
  const auto now = clock::now();
  for (auto& [pid, c] : children_) {
    if (!c.kill_at || *c.kill_at > now) continue;
    os::log("worker ", c.id, " (pid: ", pid, ") is taking too much time to die...NO MERCY !!!");
    ::kill(pid, SIGKILL);
    c.kill_at.reset();
  }
  arm_mercy_timer();
}

// ---- actions -----------------------------------------------------------------------------

// SIGTERM to every worker and spooler, SIGKILL after reload-mercy; no respawn any more.
void master::stop_gracefully(const std::string& why) {
  if (phase_ == phase::stopping) return;
  phase_ = phase::stopping;
  os::log(why, ": gracefully stopping ", children_.size(), " workers...");
  cancel_respawns();
  const auto deadline = clock::now() + cfg_.reload_mercy;
  for (auto& [pid, c] : children_) tell_to_stop(pid, c, deadline);
  spoolers_.stop(deadline, false);
  arm_mercy_timer();
}

// SIGKILL to every worker and spooler now; no respawn any more.
void master::stop_now(const std::string& why) {
  os::log(why, ": killing all workers now");
  if (phase_ != phase::stopping) {
    phase_ = phase::stopping;
    cancel_respawns();
    spoolers_.stop(clock::now(), false);
  }
  kill_all_now();
}

// The old generation is gone: the node runs the new one only.
void master::reload_completed() {
  os::log("workers reloaded (reload ", reloads_, ")");
  emperor_.send(wire::vassal_message::ready);
}

// Forks worker `id` of the current generation (`respawn`: replacing one that died).
bool master::spawn(unsigned id, bool respawn) {
  if (hooks_.before_fork) hooks_.before_fork();
  auto forked = os::fork_child([this, id] { return worker_body(id); });
  if (hooks_.after_fork_parent) hooks_.after_fork_parent();
  if (!forked) {
    os::log("cannot fork worker ", id, ": ", forked.error().code().message(), "; retrying in ",
            ms(fork_retry), " ms");
    slot_of(id).respawn_timer = loop_.after(fork_retry, [this, id] { on_respawn_due(id); });
    return false;
  }
  const pid_t pid = *forked;
  children_[pid] = child{id, clock::now(), false, std::nullopt};
  slot_of(id).pid = pid;
  if (board_) board_->record_spawn(id, pid);
  if (respawn)
    os::log("Respawned uWSGI worker ", id, " (new pid: ", pid, ")");
  else
    os::log("spawned uWSGI worker ", id, " (pid: ", pid, ", cores: 1)");
  announce_ready_once();
  return true;
}

// Runs in the forked child: drop what belongs to the master, then serve.
int master::worker_body(unsigned id) {
  signals_.release_in_child();
  if (stats_) stats_->release_in_child();
  if (board_) board_->claim(id);
  os::set_log_role("worker " + std::to_string(id));
  if (hooks_.worker_start && !hooks_.worker_start(id)) return failed_app_status;
  return run_worker(cfg_, router_, listen_fds_, [this, id](asio::io_context& io, worker& w) {
    return vassal_worker::make(io, w, emperor_, id, cfg_.heartbeat);
  });
}

void master::schedule_respawn(unsigned id, clock::duration lived) {
  slot& s = slot_of(id);
  const auto delay = s.backoff.on_death(lived);
  if (delay == clock::duration::zero()) {
    spawn(id, true);
    return;
  }
  os::log("worker ", id, " keeps dying right after its spawn: respawning it in ", ms(delay), " ms");
  s.respawn_timer = loop_.after(delay, [this, id] { on_respawn_due(id); });
}

// SIGTERM (the worker stops accepting and finishes what it has), SIGKILL at `deadline` at the
// latest.
void master::tell_to_stop(pid_t pid, child& c, clock::time_point deadline) {
  c.retiring = true;
  if (!c.kill_at || *c.kill_at > deadline) c.kill_at = deadline;
  ::kill(pid, SIGTERM);
}

// Points the mercy timer at the earliest SIGKILL deadline (or nowhere).
void master::arm_mercy_timer() {
  if (mercy_timer_) loop_.cancel(mercy_timer_);
  mercy_timer_ = 0;
  std::optional<clock::time_point> first;
  for (const auto& [pid, c] : children_)
    if (c.kill_at && (!first || *c.kill_at < *first)) first = c.kill_at;
  if (first) mercy_timer_ = loop_.at(*first, [this] { on_mercy_due(); });
}

void master::cancel_respawns() {
  for (slot& s : slots_) {
    if (s.respawn_timer) loop_.cancel(s.respawn_timer);
    s.respawn_timer = 0;
  }
}

void master::announce_ready_once() {
  if (announced_ready_) return;
  if (std::all_of(slots_.begin(), slots_.end(), [](const slot& s) { return s.pid > 0; })) {
    announced_ready_ = true;
    os::log("node ready");
    emperor_.send(wire::vassal_message::ready);
  }
}

void master::kill_all_now() {
  for (auto& [pid, c] : children_) {
    ::kill(pid, SIGKILL);
    c.kill_at.reset();
  }
  spoolers_.kill_all_now();
}

}  // namespace brood::node

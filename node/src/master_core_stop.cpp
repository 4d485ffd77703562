// master_core: the stop and reload events (signals, emperor commands) and their actions.
#include <signal.h>
#include <string.h>

#include "brood/os/log.hpp"
#include "master_core.hpp"

namespace brood::node {

void master_core::on_stop_signal(int signo, const moment& now) {
  if (stopping_) {
    os::log("stop signal ", ::sigabbrev_np(signo), " received again: killing all workers now");
    kill_all_now();
    return;
  }
  stop_gracefully(std::string("SIG") + ::sigabbrev_np(signo) + " received", now);
}

void master_core::on_reload_signal(const moment& now) { reload(reload_kind::graceful, true, now); }

// A new generation of workers is spawned first (for every slot not cheaped), then the old one is
// told to stop (graceful: SIGTERM, SIGKILL after reload-mercy; brutal: SIGKILL now).
void master_core::reload(reload_kind kind, bool spoolers, const moment& now) {
  if (stopping_) {
    os::log("reload ignored: the node is stopping");
    return;
  }
  const bool brutal = kind == reload_kind::brutal;
  if (!brutal && cfg_.unsubscribe_on_graceful_reload && !withdrawn_) {
    if (!paused_) unsubscribe_round("graceful reload (unsubscribe-on-graceful-reload)");
    withdrawn_ = true;  // announced again once the reload completed
  }
  if (paused_) toggle_pause(now);
  chain_slot_.reset();
  chain_poll_at_.reset();
  ++reloads_;
  os::log(brutal ? "brutal" : "graceful", " reload of workers (reload ", reloads_, ")");
  workers_.cancel_respawns();
  std::vector<pid_t> old;
  for (const auto& [pid, p] : workers_.processes())
    if (!p.retiring) old.push_back(pid);
  // The new generation first: the listening sockets never lack a worker for long, and they stay
  // open in the master, so connections wait in the backlog rather than being refused.
  for (unsigned id = 1; id <= workers_.size(); ++id) {
    if (workers_.at(id - 1).cheaped) continue;
    workers_.detach(id - 1);
    spawn_worker(id, false, now);
  }
  const auto deadline = brutal ? now.mono : now.mono + cfg_.reload_mercy;
  for (pid_t pid : old) {
    tell_worker_to_stop(pid, deadline);
    if (brutal) launcher_.signal(pid, SIGKILL);
  }
  if (spoolers) stop_spoolers(deadline, true);  // each restarts once it has finished its task
  if (old.empty()) reload_completed();
}

void master_core::on_emperor_command(wire::emperor_command c, const moment& now) {
  switch (c) {
    case wire::emperor_command::stop:
      stop_now("the emperor asked to stop", now);
      break;
    case wire::emperor_command::reload:
      os::log("the emperor asked for a reload");
      on_reload_signal(now);
      break;
    case wire::emperor_command::stop_gracefully:
      stop_gracefully("the emperor asked to stop gracefully", now);
      break;
    case wire::emperor_command::hand_over:
      if (!stopping_) handed_over_ = true;  // its successor serves the socket files from now
      stop_gracefully("the emperor handed this vassal's sockets over to its successor", now);
      break;
    default:
      os::log("unknown byte ", static_cast<int>(to_byte(c)), " from the emperor: ignored");
      break;
  }
}

void master_core::on_emperor_lost(const moment& now) {
  exit_status_ = 1;
  stop_now("emperor lost", now);
}

// SIGTERM to every worker and spooler, SIGKILL after reload-mercy; no respawn any more.
void master_core::stop_gracefully(const std::string& why, const moment& now) {
  if (stopping_) return;
  if (!paused_ && !withdrawn_) unsubscribe_round(why.c_str());  // a pause withdrew it already
  withdrawn_ = true;                                            // the resume must not announce
  if (paused_) toggle_pause(now);
  stopping_ = true;
  if (sleeping_) launcher_.wait_for_connection(false);
  os::log(why, ": gracefully stopping ", workers_.processes().size(), " workers...");
  workers_.cancel_respawns();
  const auto deadline = now.mono + cfg_.reload_mercy;
  std::vector<pid_t> all;
  for (const auto& [pid, p] : workers_.processes()) all.push_back(pid);
  for (pid_t pid : all) tell_worker_to_stop(pid, deadline);
  stop_spoolers(deadline, false);
}

// SIGKILL to every worker and spooler now; no respawn any more.
void master_core::stop_now(const std::string& why, const moment& now) {
  os::log(why, ": killing all workers now");
  if (!stopping_) {
    if (!paused_ && !withdrawn_) unsubscribe_round(why.c_str());  // a pause withdrew it already
    withdrawn_ = true;
    stopping_ = true;
    if (sleeping_) launcher_.wait_for_connection(false);
    workers_.cancel_respawns();
    stop_spoolers(now.mono, false);
  }
  kill_all_now();
}

// SIGTERM (the worker stops accepting and finishes what it has), SIGKILL at `deadline` at the
// latest.
void master_core::tell_worker_to_stop(pid_t pid, time_point deadline) {
  workers_.tell_to_stop(pid, deadline, false);
  board_.record_stopping(static_cast<unsigned>(workers_.find(pid)->slot + 1), pid);
  launcher_.signal(pid, SIGTERM);
}

// SIGTERM to every spooler process, SIGKILL at `deadline`. `restart` (a reload): each is spawned
// again once it has exited; otherwise (a stop) none is respawned any more.
void master_core::stop_spoolers(time_point deadline, bool restart) {
  if (!restart) spoolers_.cancel_respawns();
  std::vector<pid_t> all;
  for (const auto& [pid, p] : spoolers_.processes()) all.push_back(pid);
  for (pid_t pid : all) {
    spoolers_.tell_to_stop(pid, deadline, restart);
    launcher_.signal(pid, SIGTERM);
  }
}

// The old generation is gone: the node runs the new one only.
void master_core::reload_completed() {
  os::log("workers reloaded (reload ", reloads_, ")");
  launcher_.tell_emperor(wire::vassal_message::ready);
  if (withdrawn_) {
    withdrawn_ = false;
    subscribe_round("reloaded");
  }
}

}  // namespace brood::node

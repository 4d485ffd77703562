// master_core: idle and cheap mode, pause, the chain reload, and the other operator commands of
// the master FIFO.
#include <signal.h>

#include "brood/os/log.hpp"
#include "master_core.hpp"
#include "master_core_detail.hpp"

namespace brood::node {
namespace {

// The chain reload looks this often whether the new worker of the slot accepts yet.
constexpr std::chrono::milliseconds chain_poll{50};
// Idle is looked at again this long after it would expire ("more than idle seconds").
constexpr std::chrono::milliseconds idle_precision{1};

}  // namespace

// Idle: no request in flight, and none ended, for more than cfg_.idle. The workers record when
// each request ends (scoreboard last_end_us), so the node goes idle `idle` seconds after the last
// one, not at the next periodic check: check_idle() asks to run again at that moment.
void master_core::check_idle(const moment& now) {
  idle_check_at_.reset();
  if (cfg_.idle.count() == 0 || sleeping_ || stopping_ || paused_) return;
  std::int64_t last_end_us = 0;
  bool busy = false;
  for (unsigned id = 1; id <= board_.size(); ++id) {
    last_end_us = std::max(last_end_us, board_.at(id).last_end_us.load());
    busy = busy || board_.state(id) == slot_state::busy;
  }
  if (busy) {  // the check after the request ends looks again
    idle_since_ = now.mono;
    return;
  }
  // The wall time of the last end on the steady clock.
  const auto ended = now.mono - std::chrono::microseconds(now.wall_us - last_end_us);
  if (last_end_us > 0 && ended > idle_since_) idle_since_ = ended;
  if (now.mono - idle_since_ <= cfg_.idle) {
    idle_check_at_ = idle_since_ + cfg_.idle + idle_precision;
    return;
  }
  const std::string why = "no request for " + std::to_string(cfg_.idle.count()) + " s";
  if (!cfg_.die_on_idle) {
    enter_cheap_mode(why, now);
    return;
  }
  if (!launcher_.has_emperor()) {
    stop_gracefully(why + " (die-on-idle)", now);
    return;
  }
  if (asked_to_die_) return;
  asked_to_die_ = true;
  os::log(why, " (die-on-idle): asking the emperor to stop this vassal");
  launcher_.tell_emperor(wire::vassal_message::idle);
}

// Every worker is cheaped (it finishes what it holds and exits) and the master waits for the
// next connection on the listening sockets.
void master_core::enter_cheap_mode(const std::string& why, const moment& now) {
  if (sleeping_ || stopping_) return;
  if (paused_) toggle_pause(now);
  os::log(why, ": going cheap (every worker stops until the next connection)");
  workers_.cancel_respawns();
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const pid_t pid = workers_.at(i).pid;
    if (pid > 0) {
      cheap_worker(pid, now);
    } else {
      workers_.set_cheaped(i, true);
      board_.record_cheap(static_cast<unsigned>(i + 1));
    }
  }
  sleeping_ = true;
  idle_check_at_.reset();
  if (cfg_.heartbeat.count() > 0) heartbeat_at_ = now.mono;
  recheck_at_.reset();
  chain_slot_.reset();
  chain_poll_at_.reset();
  launcher_.wait_for_connection(true);
}

void master_core::go_cheap(const moment& now) { enter_cheap_mode("master FIFO C", now); }

// Cheap mode: no worker sends the heartbeat, so the master does.
void master_core::send_heartbeat(const moment& now) {
  heartbeat_at_ = now.mono + cfg_.heartbeat;
  launcher_.tell_emperor(wire::vassal_message::heartbeat);
}

void master_core::on_connection_waiting(const moment& now) {
  if (!sleeping_) return;
  sleeping_ = false;
  heartbeat_at_.reset();
  launcher_.wait_for_connection(false);
  const unsigned n = algo_ ? cfg_.cheaper.cheaper : static_cast<unsigned>(workers_.size());
  os::log("a connection is waiting: waking up ", n, " workers");
  spawn_cheaped(n, now);
  idle_since_ = now.mono;
}

void master_core::toggle_pause(const moment& now) {
  if (stopping_) return;
  if (!paused_) unsubscribe_round("pause (master FIFO p)");
  paused_ = !paused_;
  os::log(paused_ ? "pausing the workers (master FIFO p)" : "resuming the workers");
  if (!paused_) subscribe_round("resume");
  for (const auto& [pid, p] : workers_.processes())
    if (!p.retiring) launcher_.signal(pid, paused_ ? SIGSTOP : SIGCONT);
  if (!paused_) idle_since_ = now.mono;
}

void master_core::chain_reload(const moment& now) {
  if (stopping_ || sleeping_ || chain_slot_) {
    os::log("chain reload ignored: ", stopping_   ? "the node is stopping"
                                      : sleeping_ ? "the node is cheap"
                                                  : "a chain reload is running");
    return;
  }
  if (paused_) toggle_pause(now);
  ++reloads_;
  os::log("chain reload of the workers (reload ", reloads_, ")");
  chain_slot_ = 0;
  chain_old_ = 0;
  chain_step(now);
}

// The chain reload's state machine: for each slot with a worker, a successor is spawned; once it
// accepts, the old worker gets SIGTERM and the next slot follows.
void master_core::chain_step(const moment& now) {
  chain_poll_at_.reset();
  while (chain_slot_) {
    const std::size_t i = *chain_slot_;
    const auto id = static_cast<unsigned>(i + 1);
    if (chain_old_ == 0) {
      const pid_t old = workers_.at(i).pid;
      if (old <= 0 || workers_.at(i).cheaped) {
        chain_slot_ = i + 1 < workers_.size() ? std::optional<std::size_t>(i + 1) : std::nullopt;
        continue;
      }
      workers_.detach(i);
      chain_old_ = old;
      spawn_worker(id, false, now);
    }
    const pid_t next = workers_.at(i).pid;
    const slot_state st = board_.state(id);
    if (next <= 0 || board_.at(id).pid.load() != next ||
        (st != slot_state::idle && st != slot_state::busy)) {
      chain_poll_at_ = now.mono + chain_poll;
      return;
    }
    if (workers_.find(chain_old_)) tell_worker_to_stop(chain_old_, now.mono + cfg_.reload_mercy);
    chain_old_ = 0;
    chain_slot_ = i + 1 < workers_.size() ? std::optional<std::size_t>(i + 1) : std::nullopt;
  }
  os::log("chain reload done (reload ", reloads_, ")");
}

void master_core::shutdown(const moment& now) {
  if (stopping_) {
    os::log("shutdown asked again: killing all workers now");
    kill_all_now();
    return;
  }
  stop_gracefully("graceful shutdown", now);
}

void master_core::stop_brutally(const moment& now) { stop_now("brutal shutdown", now); }

void master_core::ask_reinforcements() {
  if (!launcher_.has_emperor()) {
    os::log("no emperor: reinforcements not asked (SOS needs an emperor)");
    return;
  }
  os::log("asking the emperor for reinforcements (SOS)");
  launcher_.tell_emperor(wire::vassal_message::sos);
}

void master_core::log_status() const {
  for (unsigned id = 1; id <= board_.size(); ++id) {
    const scoreboard::slot& s = board_.at(id);
    os::log("worker ", id, " pid ", s.pid.load(), " ",
            paused_ ? "pause" : to_string(s.state.load()), " requests ", s.requests.load(),
            " exceptions ", s.exceptions.load(), " running_us ", s.running_us.load());
  }
  os::log("cheaper: ", algo_ ? cheaper_name() : "off", sleeping_ ? ", cheap mode" : "",
          last_decision_.why.empty() ? "" : ", last decision: ", last_decision_.why);
}

}  // namespace brood::node

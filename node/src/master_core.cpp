// master_core: construction, the start, spawning, the deadlines and the SIGKILL of everything.
// The other events are in master_core_*.cpp.
#include "master_core.hpp"

#include <signal.h>

#include <algorithm>
#include <utility>

#include "brood/os/log.hpp"
#include "master_core_detail.hpp"

namespace brood::node {

master_core_config master_core_config::from(const node_config& cfg, std::size_t spooler_slots) {
  master_core_config c;
  c.workers = std::max(1u, cfg.processes);
  c.spoolers = spooler_slots;
  c.threads = cfg.threads;
  c.reload_mercy = cfg.reload_mercy;
  c.spooler_harakiri = cfg.spooler.harakiri;
  c.cheaper = cfg.cheaper;
  c.check_interval = cfg.check_interval;
  c.idle = cfg.idle;
  c.die_on_idle = cfg.die_on_idle;
  c.heartbeat = cfg.heartbeat;
  c.vassal_sos = cfg.vassal_sos;
  c.vassal_sos_backlog = cfg.vassal_sos_backlog;
  c.lifetime = cfg.lifetime;
  c.subscribe = cfg.subscription.any();
  c.subscribe_freq = cfg.subscription.freq;
  c.start_unsubscribed = cfg.subscription.start_unsubscribed;
  c.unsubscribe_on_graceful_reload = cfg.subscription.unsubscribe_on_graceful_reload;
  c.shares_vassal_sockets = !cfg.zergs.empty();
  return c;
}

master_core::master_core(master_core_config cfg, master_launcher& launcher, scoreboard& board)
    : cfg_(std::move(cfg)),
      launcher_(launcher),
      board_(board),
      workers_(std::max(1u, cfg_.workers)),
      spoolers_(cfg_.spoolers) {
  if (cfg_.cheaper.enabled() && cfg_.cheaper.cheaper < workers_.size())
    algo_ = make_cheaper_algorithm(cfg_.cheaper, static_cast<unsigned>(workers_.size()));
}

void master_core::start_spoolers(const moment& now) {
  for (std::size_t slot = 0; slot < spoolers_.size(); ++slot) spawn_spooler(slot, false, now);
  if (spoolers_.size() > 0 && cfg_.spooler_harakiri.count() > 0)
    harakiri_check_at_ = now.mono + detail::harakiri_period;
}

// Workers 1..cheaper-initial with cheaper (the other slots are cheaped), else every slot.
void master_core::start_workers(const moment& now) {
  const auto slots = static_cast<unsigned>(workers_.size());
  unsigned initial = slots;
  if (algo_)
    initial = std::clamp(cfg_.cheaper.initial ? cfg_.cheaper.initial : cfg_.cheaper.cheaper,
                         cfg_.cheaper.cheaper, slots);
  for (unsigned id = initial + 1; id <= slots; ++id) {
    workers_.set_cheaped(id - 1, true);
    board_.record_cheap(id);
  }
  for (unsigned id = 1; id <= initial; ++id) spawn_worker(id, false, now);
  start_cheaper(now);
  start_lifetime(now);
  start_subscriptions(now);
}

// Forks worker `id` of the current generation (`respawn`: replacing one that died). A failed
// fork is retried after fork_retry.
bool master_core::spawn_worker(unsigned id, bool respawn, const moment& now) {
  std::error_code ec;
  const pid_t pid = launcher_.spawn_worker(id, reloads_, ec);
  if (pid < 0) {
    os::log("cannot fork worker ", id, ": ", ec.message(), "; retrying in ",
            detail::ms(detail::fork_retry), " ms");
    workers_.respawn_at(id - 1, now.mono + detail::fork_retry);
    return false;
  }
  workers_.spawned(id - 1, pid, now.mono, respawn);
  board_.record_spawn(id, pid, now.wall);
  if (paused_) launcher_.signal(pid, SIGSTOP);
  if (respawn)
    os::log("Respawned uWSGI worker ", id, " (new pid: ", pid, ")");
  else
    os::log("spawned uWSGI worker ", id, " (pid: ", pid, ", cores: ", cfg_.threads, ")");
  announce_ready_once();
  return true;
}

bool master_core::spawn_spooler(std::size_t slot, bool respawn, const moment& now) {
  std::error_code ec;
  const pid_t pid = launcher_.spawn_spooler(slot, ec);
  if (pid < 0) {
    os::log("cannot fork the spooler on dir ", launcher_.spooler_dir(slot), ": ", ec.message(),
            "; retrying in ", detail::ms(detail::fork_retry), " ms");
    spoolers_.respawn_at(slot, now.mono + detail::fork_retry);
    return false;
  }
  spoolers_.spawned(slot, pid, now.mono, respawn);
  os::log(respawn ? "respawned" : "spawned", " the uWSGI spooler on dir ",
          launcher_.spooler_dir(slot), " with pid ", pid);
  return true;
}

void master_core::announce_ready_once() {
  if (announced_ready_ || !workers_.all_running()) return;
  announced_ready_ = true;
  os::log("node ready");
  launcher_.tell_emperor(wire::vassal_message::ready);
}

void master_core::kill_all_now() {
  for (const auto& [pid, p] : workers_.processes()) launcher_.signal(pid, SIGKILL);
  for (const auto& [pid, p] : spoolers_.processes()) launcher_.signal(pid, SIGKILL);
  workers_.clear_kill_deadlines();
  spoolers_.clear_kill_deadlines();
}

std::optional<master_core::time_point> master_core::next_deadline() const {
  std::optional<time_point> next = workers_.next_deadline();
  for (const auto& t :
       {spoolers_.next_deadline(), harakiri_check_at_, check_at_, recheck_at_, chain_poll_at_,
        heartbeat_at_, sos_check_at_, idle_check_at_, lifetime_check_at_, subscribe_at_})
    if (t && (!next || *t < *next)) next = t;
  return next;
}

std::vector<pid_t> master_core::live_pids() const {
  std::vector<pid_t> out;
  for (const auto& [pid, p] : workers_.processes()) out.push_back(pid);
  for (const auto& [pid, p] : spoolers_.processes()) out.push_back(pid);
  return out;
}

}  // namespace brood::node

// master_core: deadlines (next_deadline() says when): respawns and fork retries, SIGKILL of the
// processes still alive at their mercy deadline, the spooler-harakiri check, the chain reload's
// polls, the periodic (cheaper, idle) check and the cheaper algorithm's own rechecks.
#include <signal.h>

#include "brood/os/log.hpp"
#include "master_core.hpp"
#include "master_core_detail.hpp"

namespace brood::node {

void master_core::on_tick(const moment& now) {
  for (std::size_t slot : workers_.take_due_respawns(now.mono))
    if (!stopping_ && workers_.at(slot).pid == 0 && !workers_.at(slot).cheaped)
      spawn_worker(static_cast<unsigned>(slot + 1), true, now);
  for (std::size_t slot : spoolers_.take_due_respawns(now.mono))
    if (!stopping_ && spoolers_.at(slot).pid == 0) spawn_spooler(slot, true, now);
  kill_past_mercy(now);
  if (harakiri_check_at_ && now.mono >= *harakiri_check_at_) {
    check_harakiri(now);
    harakiri_check_at_ = now.mono + detail::harakiri_period;
  }
  if (chain_poll_at_ && now.mono >= *chain_poll_at_) chain_step(now);
  if (lifetime_check_at_ && now.mono >= *lifetime_check_at_) check_lifetime(now);
  if (subscribe_at_ && now.mono >= *subscribe_at_) check_subscriptions(now);
  if (stopping_) {
    subscribe_at_.reset();
    lifetime_check_at_.reset();
    check_at_.reset();
    recheck_at_.reset();
    heartbeat_at_.reset();
    sos_check_at_.reset();
    idle_check_at_.reset();
    return;
  }
  if (heartbeat_at_ && now.mono >= *heartbeat_at_) send_heartbeat(now);
  if (sos_check_at_ && now.mono >= *sos_check_at_) check_sos(now);
  if (idle_check_at_ && now.mono >= *idle_check_at_) check_idle(now);
  if (check_at_ && now.mono >= *check_at_) {
    check_at_ = now.mono + cfg_.check_interval;
    run_check(now);
  } else if (recheck_at_ && now.mono >= *recheck_at_) {
    recheck_at_.reset();
    evaluate(now, false);
  }
}

void master_core::kill_past_mercy(const moment& now) {
  for (const auto& [pid, slot] : workers_.take_due_kills(now.mono)) {
    os::log("worker ", slot + 1, " (pid: ", pid, ") is taking too much time to die...NO MERCY !!!");
    launcher_.signal(pid, SIGKILL);
  }
  for (const auto& [pid, slot] : spoolers_.take_due_kills(now.mono)) {
    os::log("spooler (pid: ", pid, ") is taking too much time to die...NO MERCY !!!");
    launcher_.signal(pid, SIGKILL);
  }
}

// SIGKILL (once per process) to a spooler process whose task outlived its harakiri deadline.
void master_core::check_harakiri(const moment& now) {
  for (std::size_t slot = 0; slot < spoolers_.size(); ++slot) {
    const pid_t pid = spoolers_.at(slot).pid;
    process_pool::process* p = pid > 0 ? spoolers_.find(pid) : nullptr;
    if (!p || p->killed_early) continue;
    const auto deadline = launcher_.spooler_deadline(slot);
    if (!deadline || *deadline > now.mono) continue;
    os::log("*** HARAKIRI ON THE SPOOLER (pid: ", pid, ") *** task ", launcher_.spooler_task(slot),
            " ran longer than ", cfg_.spooler_harakiri.count(), " seconds: killing it");
    launcher_.signal(pid, SIGKILL);
    p->killed_early = true;
  }
}

}  // namespace brood::node

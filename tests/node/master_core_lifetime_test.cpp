// master_core: worker lifetime (harakiri, max-worker-lifetime, evil-reload-on-rss/as, and the
// respawn of a worker that recycled itself for max-requests or reload-on-rss), with a fake
// launcher and fake time.
#include <gtest/gtest.h>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

using std::chrono::seconds;
constexpr std::uint64_t mb = 1024 * 1024;

class master_core_lifetime_test : public master_core_fixture {
 protected:
  void start_with(unsigned workers, const lifetime_config& l) {
    master_core_config cfg = config(workers);
    cfg.lifetime = l;
    make_core(cfg);
    start_core(0);
  }
  void start_harakiri(unsigned workers, int harakiri_s) {
    lifetime_config l;
    l.harakiri = seconds(harakiri_s);
    start_with(workers, l);
  }
  // Worker `id` starts a request at `t` (as its slot_recorder would record it).
  void begin_request(unsigned id, double t, const char* summary = "127.0.0.1 - GET /slow") {
    scoreboard::slot& s = board->at(id);
    s.request_start_us.store(at(t).wall_us);
    s.in_request.store(1);
    s.state.store(slot_state::busy);
    store_summary(s, summary);
  }
  void end_request(unsigned id) {
    board->at(id).in_request.store(0);
    board->at(id).state.store(slot_state::idle);
  }
  // Ticks at every deadline the core asks for up to `t`, then at `t`.
  void run_until(double t) {
    for (int i = 0; i < 1000; ++i) {
      const auto next = core->next_deadline();
      if (!next || *next > mono(t)) break;
      core->on_tick(moment_of(*next));
    }
    tick(t);
  }
  static moment moment_of(time_point mono_t) {
    const double s = std::chrono::duration<double>(mono_t - origin()).count();
    return at(s);
  }
  void claim_slots() {  // the workers record their pids as the real ones do
    for (unsigned id = 1; id <= board->size(); ++id) board->at(id).pid.store(worker(id));
  }
};

TEST_F(master_core_lifetime_test, HarakiriKillsTheStuckWorkerOnlyAndRespawnsIt) {
  start_harakiri(2, 3);
  claim_slots();
  const pid_t stuck = worker(1), other = worker(2);
  begin_request(1, 0.5);
  begin_request(2, 0.5);
  run_until(2.0);
  end_request(2);  // the other worker's request ends in time
  run_until(3.49);
  EXPECT_TRUE(launcher.signals.empty());
  run_until(3.5);
  EXPECT_EQ(signals_to(stuck), (std::vector<int>{SIGKILL}));
  EXPECT_TRUE(signals_to(other).empty());
  EXPECT_EQ(board->at(1).harakiri_count.load(), 1u);
  EXPECT_EQ(board->at(2).harakiri_count.load(), 0u);
  run_until(6);
  EXPECT_EQ(signals_to(stuck).size(), 1u);  // once
  exit(stuck, killed(SIGKILL), 6.1);
  EXPECT_EQ(worker_spawns(), 3u);  // respawned at once
  EXPECT_NE(worker(1), stuck);
  EXPECT_EQ(worker(2), other);
}

TEST_F(master_core_lifetime_test, ARequestStartedRightAfterACheckIsKilledAtItsDeadline) {
  start_harakiri(1, 1);
  claim_slots();
  run_until(1.0);  // a check with nothing in flight
  begin_request(1, 1.01);
  // The next check comes within a second and then aims at 1.01 + 1.
  const auto next = core->next_deadline();
  ASSERT_TRUE(next);
  EXPECT_LE(*next, mono(2.0));
  run_until(2.0);
  EXPECT_TRUE(launcher.signals.empty());
  EXPECT_LE(*core->next_deadline(), mono(2.011));
  run_until(2.011);
  EXPECT_EQ(signals_to(worker(1)), (std::vector<int>{SIGKILL}));
}

TEST_F(master_core_lifetime_test, NoHarakiriWithoutTheOptionOrWhileStopping) {
  start(1);
  claim_slots();
  begin_request(1, 0.1);
  run_until(100);
  EXPECT_TRUE(launcher.signals.empty());

  start_harakiri(1, 2);
  claim_slots();
  begin_request(1, 0.1);
  core->on_stop_signal(SIGTERM, at(1));
  run_until(5);
  EXPECT_EQ(signals_to(worker(1)), (std::vector<int>{SIGTERM}));  // the stop's, no SIGKILL
}

TEST_F(master_core_lifetime_test, MaxWorkerLifetimeSpawnsTheSuccessorThenStopsTheOldWorker) {
  lifetime_config l;
  l.max_worker_lifetime = seconds(10);
  l.max_worker_lifetime_delta = seconds(2);
  start_with(2, l);
  claim_slots();
  const pid_t one = worker(1), two = worker(2);
  run_until(11.9);
  EXPECT_TRUE(launcher.signals.empty());  // 10 + 1 * 2
  run_until(12.0);
  EXPECT_EQ(signals_to(one), (std::vector<int>{SIGTERM}));
  EXPECT_TRUE(signals_to(two).empty());
  EXPECT_EQ(worker_spawns(), 3u);  // the successor first
  EXPECT_NE(worker(1), one);
  EXPECT_LT(position("worker 1 gen 0 -> " + std::to_string(worker(1))),
            position("signal " + std::to_string(one) + " 15"));
  run_until(14.0);  // 10 + 2 * 2
  EXPECT_EQ(signals_to(two), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(worker_spawns(), 4u);
  const pid_t one_next = worker(1), two_next = worker(2);
  const auto emperor_bytes = launcher.emperor.size();
  exit(one, exited(0), 14.1);  // the old ones finish: nothing more is spawned
  exit(two, exited(0), 14.2);
  EXPECT_EQ(worker_spawns(), 4u);
  EXPECT_EQ(worker(1), one_next);
  EXPECT_EQ(worker(2), two_next);
  EXPECT_EQ(launcher.emperor.size(), emperor_bytes);  // not a reload: no "workers reloaded"
  // The successor's lifetime counts from its own spawn.
  claim_slots();
  run_until(23.9);
  EXPECT_TRUE(signals_to(one_next).empty());
  run_until(24.0);
  EXPECT_EQ(signals_to(one_next), (std::vector<int>{SIGTERM}));
}

TEST_F(master_core_lifetime_test, ARecycleEventSpawnsTheSuccessorWhileTheOldWorkerDrains) {
  lifetime_config l;
  l.max_requests = 20;
  start_with(2, l);
  claim_slots();
  const pid_t old = worker(1), other = worker(2);
  board->at(1).recycle.store(recycle_reason::max_requests);
  core->on_recycling(at(0.5));
  EXPECT_EQ(worker_spawns(), 3u);
  EXPECT_NE(worker(1), old);
  EXPECT_EQ(worker(2), other);
  EXPECT_TRUE(launcher.signals.empty());  // it stops by itself
  core->on_recycling(at(0.6));            // the same event again: nothing
  EXPECT_EQ(worker_spawns(), 3u);
  exit(old, exited(0), 0.7);
  EXPECT_EQ(worker_spawns(), 3u);
  // An old worker that outlives reload-mercy is killed.
  board->at(2).recycle.store(recycle_reason::reload_on_rss);
  core->on_recycling(at(1));
  run_until(11.0);
  EXPECT_EQ(signals_to(other), (std::vector<int>{SIGKILL}));
}

TEST_F(master_core_lifetime_test, AWorkerThatRecycledItselfIsRespawnedAtOnceWithoutBackoff) {
  start(1);
  claim_slots();
  const pid_t first = worker(1);
  board->at(1).recycle.store(recycle_reason::max_requests);
  exit(first, exited(0), 0.05);  // short-lived, as with a small max-requests under load
  EXPECT_EQ(worker_spawns(), 2u);
  const pid_t second = worker(1);
  EXPECT_GT(second, first);
  EXPECT_EQ(board->at(1).recycle.load(), recycle_reason::none);
  board->at(1).pid.store(second);
  board->at(1).recycle.store(recycle_reason::reload_on_rss);
  exit(second, exited(0), 0.1);
  EXPECT_EQ(worker_spawns(), 3u);
  for (int i = 0; i < 5; ++i) {  // recycles in a row never back off
    board->at(1).pid.store(worker(1));
    board->at(1).recycle.store(recycle_reason::max_requests);
    exit(worker(1), exited(0), 0.2 + 0.01 * i);
  }
  EXPECT_EQ(worker_spawns(), 8u);
  EXPECT_GT(worker(1), 0);
}

TEST_F(master_core_lifetime_test, EvilReloadOnRssKillsTheWorkerAboveTheLimit) {
  lifetime_config l;
  l.evil_reload_on_rss = 100 * mb;
  l.evil_reload_on_as = 1000 * mb;
  l.mem_collector_freq = seconds(3);
  start_with(3, l);
  claim_slots();
  const pid_t fat = worker(1), huge = worker(3);
  launcher.rss[fat] = 150 * mb;
  launcher.rss[worker(2)] = 50 * mb;
  launcher.vsz[huge] = 2000 * mb;
  run_until(2.9);
  EXPECT_TRUE(launcher.signals.empty());
  run_until(3.0);
  EXPECT_EQ(signals_to(fat), (std::vector<int>{SIGKILL}));
  EXPECT_EQ(signals_to(huge), (std::vector<int>{SIGKILL}));
  EXPECT_TRUE(signals_to(worker(2)).empty());
  run_until(6.0);
  EXPECT_EQ(signals_to(fat).size(), 1u);
  exit(fat, killed(SIGKILL), 6.1);
  EXPECT_EQ(worker_spawns(), 4u);
}

TEST_F(master_core_lifetime_test, ReloadWhileARecycledWorkerDrainsStillCompletes) {
  lifetime_config l;
  l.max_worker_lifetime = seconds(5);
  l.min_worker_lifetime = seconds(1);
  start_with(1, l);
  claim_slots();
  const pid_t old = worker(1);
  run_until(5.0);
  ASSERT_EQ(signals_to(old), (std::vector<int>{SIGTERM}));
  const pid_t successor = worker(1);
  core->reload(master_core::reload_kind::graceful, false, at(5.5));
  const pid_t next = worker(1);
  EXPECT_NE(next, successor);
  EXPECT_EQ(signals_to(successor), (std::vector<int>{SIGTERM}));
  const auto emperor_bytes = launcher.emperor.size();  // "node ready"
  exit(old, exited(0), 6);
  EXPECT_EQ(launcher.emperor.size(), emperor_bytes);  // the recycled one does not hold the reload
  exit(successor, exited(0), 6.5);
  EXPECT_EQ(launcher.emperor.size(), emperor_bytes + 1);  // workers reloaded
  EXPECT_EQ(worker(1), next);
  EXPECT_EQ(worker_spawns(), 3u);
}

}  // namespace
}  // namespace brood::node::testing

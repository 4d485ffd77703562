// master_core: the start, respawns with the crash-loop backoff, graceful and immediate stops,
// the emperor's commands and the scoreboard, with a fake launcher and fake time.
#include <gtest/gtest.h>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

using namespace std::chrono_literals;

class master_core_test : public master_core_fixture {};

TEST_F(master_core_test, StartSpawnsTheSpoolersThenTheWorkersAndAnnouncesReadyOnce) {
  start(3, 2);
  ASSERT_EQ(launcher.events, (std::vector<std::string>{
                                 "spooler 0 -> 1000", "spooler 1 -> 1001", "worker 1 gen 0 -> 1002",
                                 "worker 2 gen 0 -> 1003", "worker 3 gen 0 -> 1004", "emperor 1"}));
  EXPECT_EQ(worker(1), 1002);
  EXPECT_EQ(worker(3), 1004);
  EXPECT_EQ(spooler(1), 1001);
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1}));
  EXPECT_FALSE(core->next_deadline());
  EXPECT_FALSE(core->stopping());
  EXPECT_FALSE(core->finished());
  EXPECT_EQ(core->live_pids().size(), 5u);
}

TEST_F(master_core_test, ScoreboardRecordsEachSpawnWithTheEventsWallTime) {
  make_core(config(2));
  start_core(5);
  EXPECT_EQ(board->at(1).pid.load(), worker(1));
  EXPECT_EQ(board->at(2).pid.load(), worker(2));
  EXPECT_EQ(board->at(1).last_spawn.load(), at(5).wall);
  EXPECT_EQ(board->at(1).respawn_count.load(), 1u);
  EXPECT_EQ(board->state(1), slot_state::starting);
}

TEST_F(master_core_test, WorkerThatLivedLongIsRespawnedAtOnce) {
  start(2);
  const pid_t victim = worker(1);
  exit(victim, killed(SIGKILL), 30);
  ASSERT_EQ(worker_spawns(), 3u);
  EXPECT_EQ(launcher.spawns.back().which, 1u);
  EXPECT_EQ(launcher.spawns.back().generation, 0u);
  EXPECT_NE(worker(1), victim);
  EXPECT_EQ(board->at(1).pid.load(), worker(1));
  EXPECT_EQ(board->at(1).respawn_count.load(), 2u);
  EXPECT_EQ(board->at(1).last_spawn.load(), at(30).wall);
  EXPECT_EQ(launcher.emperor.size(), 1u);  // ready is announced once only
}

TEST_F(master_core_test, CrashLoopRespawnIsDelayedAndTheDelayDoubles) {
  start(1);
  exit(worker(1), exited(1), 0.1);  // dies young: respawned at once
  ASSERT_EQ(worker_spawns(), 2u);
  double t = 0.2;
  for (const double delay : {0.1, 0.2, 0.4, 0.8}) {
    exit(worker(1), exited(1), t);
    EXPECT_EQ(worker(1), 0);
    ASSERT_TRUE(core->next_deadline());
    EXPECT_EQ(*core->next_deadline(), mono(t + delay));
    const std::size_t before = worker_spawns();
    tick(t + delay - 0.01);
    EXPECT_EQ(worker_spawns(), before);
    tick(t + delay);
    EXPECT_EQ(worker_spawns(), before + 1);
    EXPECT_GT(worker(1), 0);
    t += delay + 0.1;
  }
}

TEST_F(master_core_test, CrashLoopDelayStopsGrowingAtFourSeconds) {
  start(1);
  double t = 0;
  for (int i = 0; i < 9; ++i) {
    t += 0.1;
    exit(worker(1), exited(1), t);
    if (const auto due = core->next_deadline()) {
      t = std::chrono::duration<double>(*due - origin()).count();
      tick(t);
    }
  }
  t += 0.1;
  exit(worker(1), exited(1), t);
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(t + 4));
}

TEST_F(master_core_test, WorkerThatLivedLongEndsTheCrashLoop) {
  start(1);
  exit(worker(1), exited(1), 0.1);
  exit(worker(1), exited(1), 0.2);  // second young death: delayed
  tick(0.3);
  ASSERT_GT(worker(1), 0);
  exit(worker(1), exited(1), 10);  // lived long: at once again
  EXPECT_GT(worker(1), 0);
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(master_core_test, FailedForkIsRetriedAfterASecondAndReadyWaitsForIt) {
  make_core(config(2));
  launcher.fail_fork = true;
  start_core(0);
  EXPECT_EQ(worker_spawns(), 0u);
  EXPECT_TRUE(launcher.emperor.empty());
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(1));
  launcher.fail_fork = false;
  tick(1);
  EXPECT_EQ(worker_spawns(), 2u);
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1}));
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(master_core_test, GracefulStopSendsSigtermThenSigkillAtTheMercyDeadline) {
  start(2, 1);
  const pid_t w1 = worker(1), w2 = worker(2), sp = spooler(0);
  core->on_stop_signal(SIGTERM, at(1));
  EXPECT_TRUE(core->stopping());
  EXPECT_EQ(signals_to(w1), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(signals_to(w2), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(signals_to(sp), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(board->state(1), slot_state::stopping);
  exit(w1, exited(0), 2);
  EXPECT_EQ(board->state(1), slot_state::empty);
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(11));
  tick(10.9);
  EXPECT_EQ(launcher.signals.size(), 3u);
  tick(11);
  EXPECT_EQ(signals_to(w2), (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_EQ(signals_to(sp), (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_FALSE(core->next_deadline());
  EXPECT_FALSE(core->finished());
  exit(w2, killed(SIGKILL), 11.1);
  exit(sp, killed(SIGKILL), 11.1);
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(core->exit_status(), 0);
  EXPECT_EQ(launcher.emperor.size(), 1u);  // a stop is no reload
  EXPECT_EQ(worker_spawns(), 2u);          // nothing respawned
  EXPECT_EQ(spooler_spawns(), 1u);
}

TEST_F(master_core_test, WorkerThatExitsDuringTheStopIsNotRespawned) {
  start(2);
  core->on_stop_signal(SIGINT, at(1));
  exit(worker(1), killed(SIGSEGV), 1.5);
  EXPECT_EQ(worker_spawns(), 2u);
  EXPECT_FALSE(core->finished());
  exit(worker(2), exited(0), 2);
  EXPECT_TRUE(core->finished());
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(master_core_test, SecondStopSignalKillsEverythingAtOnce) {
  start(2, 1);
  core->on_stop_signal(SIGQUIT, at(1));
  core->on_stop_signal(SIGTERM, at(2));
  for (pid_t pid : core->live_pids())
    EXPECT_EQ(signals_to(pid), (std::vector<int>{SIGTERM, SIGKILL})) << pid;
  EXPECT_FALSE(core->next_deadline());  // no mercy deadline left
}

TEST_F(master_core_test, StopCancelsAPendingRespawn) {
  start(1);
  exit(worker(1), exited(1), 0.1);
  exit(worker(1), exited(1), 0.2);  // respawn due at 0.3
  ASSERT_TRUE(core->next_deadline());
  core->on_stop_signal(SIGTERM, at(0.25));
  EXPECT_TRUE(core->finished());
  EXPECT_FALSE(core->next_deadline());
  tick(0.3);
  EXPECT_EQ(worker_spawns(), 2u);
}

TEST_F(master_core_test, ExitOfAnUnknownPidIsIgnored) {
  start(1);
  EXPECT_FALSE(core->on_exit(4242, exited(1), at(1)));
  EXPECT_EQ(worker_spawns(), 1u);
  EXPECT_TRUE(launcher.signals.empty());
}

TEST_F(master_core_test, EmperorStopKillsEverythingAtOnce) {
  start(2, 1);
  const auto pids = core->live_pids();
  core->on_emperor_command(wire::emperor_command::stop, at(1));
  EXPECT_TRUE(core->stopping());
  for (pid_t pid : pids) EXPECT_TRUE(got(pid, SIGKILL)) << pid;
  EXPECT_EQ(signals_to(spooler(0)), (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_EQ(signals_to(worker(1)), (std::vector<int>{SIGKILL}));
  for (pid_t pid : pids) exit(pid, killed(SIGKILL), 1.1);
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(core->exit_status(), 0);
}

TEST_F(master_core_test, EmperorGracefulStopIsAStopWithMercy) {
  start(1);
  core->on_emperor_command(wire::emperor_command::stop_gracefully, at(1));
  EXPECT_EQ(signals_to(worker(1)), (std::vector<int>{SIGTERM}));
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(11));
}

TEST_F(master_core_test, EmperorHandOverIsAGracefulStopThatKeepsTheSocketFiles) {
  start(1);
  const pid_t w = worker(1);
  EXPECT_FALSE(core->handed_over());
  core->on_emperor_command(wire::emperor_command::hand_over, at(1));
  EXPECT_TRUE(core->stopping());
  EXPECT_TRUE(core->handed_over());
  EXPECT_EQ(signals_to(w), (std::vector<int>{SIGTERM}));
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(11));  // reload-mercy, then SIGKILL
  exit(w, 0, 1.5);
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(core->exit_status(), 0);
}

TEST_F(master_core_test, HandOverWhileStoppingLeavesTheFilesToThatStop) {
  start(1);
  core->on_stop_signal(SIGTERM, at(1));
  core->on_emperor_command(wire::emperor_command::hand_over, at(1.2));
  EXPECT_FALSE(core->handed_over());
  EXPECT_EQ(signals_to(worker(1)), (std::vector<int>{SIGTERM}));
}

TEST_F(master_core_test, EmperorLostStopsAtOnceWithStatus1) {
  start(1);
  const pid_t w = worker(1);
  core->on_emperor_lost(at(1));
  EXPECT_TRUE(got(w, SIGKILL));
  exit(w, killed(SIGKILL), 1.1);
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(core->exit_status(), 1);
}

TEST_F(master_core_test, UnknownEmperorByteIsIgnored) {
  start(1);
  core->on_emperor_command(static_cast<wire::emperor_command>(77), at(1));
  EXPECT_FALSE(core->stopping());
  EXPECT_TRUE(launcher.signals.empty());
  EXPECT_EQ(core->reloads(), 0u);
}

TEST_F(master_core_test, KillAllNowSignalsEveryLiveProcessWithoutStopping) {
  start(2, 1);
  core->kill_all_now();
  for (pid_t pid : core->live_pids()) EXPECT_EQ(signals_to(pid), (std::vector<int>{SIGKILL}));
  EXPECT_EQ(launcher.signals.size(), 3u);
}

TEST_F(master_core_test, ConfigComesFromTheNodesConfig) {
  node_config cfg;
  cfg.processes = 0;
  cfg.reload_mercy = std::chrono::milliseconds(2500);
  cfg.spooler.harakiri = std::chrono::seconds(7);
  const auto c = master_core_config::from(cfg, 3);
  EXPECT_EQ(c.workers, 1u);  // at least one worker
  EXPECT_EQ(c.spoolers, 3u);
  EXPECT_EQ(c.reload_mercy, std::chrono::milliseconds(2500));
  EXPECT_EQ(c.spooler_harakiri, std::chrono::seconds(7));
  cfg.processes = 4;
  EXPECT_EQ(master_core_config::from(cfg, 0).workers, 4u);
}

}  // namespace
}  // namespace brood::node::testing

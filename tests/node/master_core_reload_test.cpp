// master_core: reloads by generation (SIGHUP, the emperor's byte 1), with a fake launcher and
// fake time.
#include <gtest/gtest.h>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

class master_core_reload_test : public master_core_fixture {};

TEST_F(master_core_reload_test, NewGenerationIsSpawnedBeforeTheOldOneIsToldToStop) {
  start(2);
  launcher.events.clear();
  core->on_reload_signal(at(5));
  EXPECT_EQ(core->reloads(), 1u);
  ASSERT_EQ(launcher.events,
            (std::vector<std::string>{"worker 1 gen 1 -> 1002", "worker 2 gen 1 -> 1003",
                                      "signal 1000 15", "signal 1001 15"}));
  EXPECT_EQ(worker(1), 1002);
  EXPECT_EQ(worker(2), 1003);
  EXPECT_EQ(core->live_pids().size(), 4u);   // the old generation is still alive
  EXPECT_EQ(board->at(1).pid.load(), 1002);  // the slot is the new worker's
  EXPECT_EQ(board->state(1), slot_state::starting);
  EXPECT_EQ(launcher.emperor.size(), 1u);  // not reloaded yet
}

TEST_F(master_core_reload_test, ReloadCompletesWhenTheLastOldWorkerHasExited) {
  start(2);
  const pid_t old1 = worker(1), old2 = worker(2);
  core->on_reload_signal(at(5));
  exit(old1, exited(0), 6);
  EXPECT_EQ(launcher.emperor.size(), 1u);
  exit(old2, exited(0), 7);
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1, 1}));  // ready again
  EXPECT_EQ(worker_spawns(), 4u);                                  // the old ones are not respawned
  EXPECT_EQ(board->at(1).pid.load(), worker(1));  // their exit leaves the new owner's slot
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(master_core_reload_test, OldWorkerStuckPastReloadMercyIsKilled) {
  start(1);
  const pid_t old = worker(1);
  core->on_reload_signal(at(5));
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(15));
  tick(14.9);
  EXPECT_EQ(signals_to(old), (std::vector<int>{SIGTERM}));
  tick(15);
  EXPECT_EQ(signals_to(old), (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_TRUE(signals_to(worker(1)).empty());  // the new generation is left alone
  exit(old, killed(SIGKILL), 15.1);
  EXPECT_EQ(launcher.emperor.size(), 2u);
}

TEST_F(master_core_reload_test, EachReloadIsANewGeneration) {
  start(1);
  core->on_reload_signal(at(1));
  core->on_reload_signal(at(2));  // the first old one is still stopping
  EXPECT_EQ(core->reloads(), 2u);
  EXPECT_EQ(launcher.spawns.back().generation, 2u);
  EXPECT_EQ(signals_to(1000), (std::vector<int>{SIGTERM}));  // told once only
  EXPECT_EQ(signals_to(1001), (std::vector<int>{SIGTERM}));
  exit(1000, exited(0), 3);
  EXPECT_EQ(launcher.emperor.size(), 1u);
  exit(1001, exited(0), 3);
  EXPECT_EQ(launcher.emperor.size(), 2u);
}

TEST_F(master_core_reload_test, CrashedNewWorkerIsRespawnedWhileTheOldOnesRetire) {
  start(1);
  const pid_t old = worker(1);
  core->on_reload_signal(at(5));
  const pid_t young = worker(1);
  exit(young, killed(SIGSEGV), 20);
  EXPECT_NE(worker(1), young);
  EXPECT_GT(worker(1), 0);
  EXPECT_EQ(launcher.spawns.back().generation, 1u);
  EXPECT_EQ(launcher.emperor.size(), 1u);  // the old one is still retiring
  exit(old, exited(0), 21);
  EXPECT_EQ(launcher.emperor.size(), 2u);
}

TEST_F(master_core_reload_test, ReloadCancelsAPendingRespawnAndStartsTheCrashCountOver) {
  start(1);
  exit(worker(1), exited(1), 0.1);
  exit(worker(1), exited(1), 0.2);  // respawn pending until 0.3
  EXPECT_EQ(worker(1), 0);
  core->on_reload_signal(at(0.25));
  EXPECT_GT(worker(1), 0);
  EXPECT_EQ(launcher.emperor.size(), 2u);  // nothing old to wait for: reloaded at once
  const std::size_t spawns = worker_spawns();
  tick(0.3);
  EXPECT_EQ(worker_spawns(), spawns);
  exit(worker(1), exited(1), 0.35);  // a first young death again: at once
  EXPECT_GT(worker(1), 0);
}

TEST_F(master_core_reload_test, ReloadIsIgnoredWhileStopping) {
  start(1);
  core->on_stop_signal(SIGTERM, at(1));
  core->on_reload_signal(at(2));
  EXPECT_EQ(core->reloads(), 0u);
  EXPECT_EQ(worker_spawns(), 1u);
}

TEST_F(master_core_reload_test, EmperorReloadReloads) {
  start(1);
  core->on_emperor_command(wire::emperor_command::reload, at(1));
  EXPECT_EQ(core->reloads(), 1u);
  EXPECT_EQ(worker_spawns(), 2u);
  EXPECT_EQ(signals_to(1000), (std::vector<int>{SIGTERM}));
}

TEST_F(master_core_reload_test, StopDuringAReloadStopsBothGenerations) {
  start(1);
  const pid_t old = worker(1);
  core->on_reload_signal(at(1));
  const pid_t young = worker(1);
  core->on_stop_signal(SIGTERM, at(2));
  EXPECT_EQ(signals_to(old), (std::vector<int>{SIGTERM, SIGTERM}));  // every worker is told
  EXPECT_EQ(signals_to(young), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(*core->next_deadline(), mono(11));  // the old one keeps its earlier deadline
  exit(old, exited(0), 3);
  EXPECT_EQ(launcher.emperor.size(), 1u);  // no "reloaded" while stopping
  exit(young, exited(0), 3);
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(launcher.emperor.size(), 1u);
}

TEST_F(master_core_reload_test, FailedForkOfTheNewGenerationIsRetriedAndTheOldOneStillStops) {
  start(1);
  const pid_t old = worker(1);
  launcher.fail_fork = true;
  core->on_reload_signal(at(5));
  EXPECT_EQ(worker(1), 0);
  EXPECT_EQ(signals_to(old), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(board->state(1), slot_state::stopping);  // the old one still owns the slot
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(6));
  launcher.fail_fork = false;
  tick(6);
  EXPECT_GT(worker(1), 0);
  EXPECT_EQ(launcher.spawns.back().generation, 1u);
  EXPECT_EQ(board->at(1).pid.load(), worker(1));
}

}  // namespace
}  // namespace brood::node::testing

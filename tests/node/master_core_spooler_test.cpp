// master_core: the spooler processes (respawn, crash loop, restart on reload, stop, harakiri),
// with a fake launcher and fake time.
#include <gtest/gtest.h>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

using namespace std::chrono_literals;

class master_core_spooler_test : public master_core_fixture {
 protected:
  void start_with_harakiri(std::size_t spoolers) {
    master_core_config cfg = config(1, spoolers);
    cfg.spooler_harakiri = std::chrono::seconds(3);
    make_core(cfg);
    start_core(0);
  }
};

TEST_F(master_core_spooler_test, KilledSpoolerIsRespawned) {
  start(1, 2);
  const pid_t victim = spooler(1);
  exit(victim, killed(SIGKILL), 30);
  EXPECT_EQ(launcher.spooler_exits, (std::vector<std::size_t>{1}));
  ASSERT_EQ(spooler_spawns(), 3u);
  EXPECT_FALSE(launcher.spawns.back().worker);
  EXPECT_EQ(launcher.spawns.back().which, 1u);
  EXPECT_NE(spooler(1), victim);
  EXPECT_EQ(core->spoolers().at(1).respawns, 1u);
  EXPECT_EQ(core->spoolers().at(0).respawns, 0u);
  EXPECT_EQ(worker_spawns(), 1u);
}

TEST_F(master_core_spooler_test, SpoolerCrashLoopBacksOff) {
  start(1, 1);
  exit(spooler(0), exited(1), 0.1);  // at once
  exit(spooler(0), exited(1), 0.2);  // delayed
  EXPECT_EQ(spooler(0), 0);
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(0.3));
  tick(0.3);
  EXPECT_GT(spooler(0), 0);
  EXPECT_EQ(core->spoolers().at(0).respawns, 2u);
}

TEST_F(master_core_spooler_test, CleanExitIsRespawnedAtOnceAndEndsTheCrashLoop) {
  start(1, 1);
  exit(spooler(0), exited(1), 0.1);
  exit(spooler(0), exited(0), 0.2);  // spooler-max-tasks: at once, despite its short life
  EXPECT_GT(spooler(0), 0);
  exit(spooler(0), exited(1), 0.3);  // the first young death of a new count: at once
  EXPECT_GT(spooler(0), 0);
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(master_core_spooler_test, FailedSpoolerForkIsRetried) {
  make_core(config(1, 1));
  launcher.fail_fork = true;
  core->start_spoolers(at(0));
  launcher.fail_fork = false;
  core->start_workers(at(0));
  EXPECT_EQ(spooler(0), 0);
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(1));
  tick(1);
  EXPECT_GT(spooler(0), 0);
}

TEST_F(master_core_spooler_test, ReloadRestartsEachSpoolerOnceItHasExited) {
  start(1, 2);
  const pid_t s0 = spooler(0), s1 = spooler(1);
  core->on_reload_signal(at(5));
  EXPECT_EQ(signals_to(s0), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(signals_to(s1), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(spooler_spawns(), 2u);  // not before it exits (it finishes its task)
  exit(s0, exited(0), 6);
  EXPECT_EQ(spooler_spawns(), 3u);
  EXPECT_NE(spooler(0), s0);
  EXPECT_GT(spooler(0), 0);
  EXPECT_EQ(core->spoolers().at(0).respawns, 0u);  // a restart, not a respawn
  tick(15);  // reload-mercy: the one still busy is killed, then restarted
  EXPECT_EQ(signals_to(s1), (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_TRUE(signals_to(spooler(0)).empty());
  exit(s1, killed(SIGKILL), 15.1);
  EXPECT_GT(spooler(1), 0);
  EXPECT_NE(spooler(1), s1);
}

TEST_F(master_core_spooler_test, StoppedSpoolerIsNotRespawned) {
  start(1, 1);
  const pid_t s = spooler(0), w = worker(1);
  core->on_stop_signal(SIGTERM, at(1));
  exit(w, exited(0), 1.5);
  EXPECT_FALSE(core->finished());  // the spooler finishes its task first
  exit(s, exited(0), 2);
  EXPECT_EQ(spooler_spawns(), 1u);
  EXPECT_TRUE(core->finished());
}

TEST_F(master_core_spooler_test, StopAfterAReloadCancelsTheRestart) {
  start(1, 1);
  const pid_t s = spooler(0);
  core->on_reload_signal(at(1));
  core->on_stop_signal(SIGTERM, at(2));
  exit(s, exited(0), 3);
  EXPECT_EQ(spooler_spawns(), 1u);
}

TEST_F(master_core_spooler_test, HarakiriKillsATaskPastItsDeadlineOnce) {
  start_with_harakiri(2);
  const pid_t stuck = spooler(0);
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(1));  // checked every second
  launcher.deadlines[0] = mono(2.5);
  tick(1);
  tick(2);
  EXPECT_TRUE(launcher.signals.empty());
  EXPECT_EQ(*core->next_deadline(), mono(3));
  tick(3);
  EXPECT_EQ(signals_to(stuck), (std::vector<int>{SIGKILL}));
  EXPECT_TRUE(signals_to(spooler(1)).empty());
  tick(4);  // not again while it dies
  EXPECT_EQ(signals_to(stuck), (std::vector<int>{SIGKILL}));
  exit(stuck, killed(SIGKILL), 4.5);  // its deadline is dropped with it (spooler_exited)
  const pid_t successor = spooler(0);
  EXPECT_GT(successor, 0);
  launcher.deadlines[0] = mono(6);  // the successor runs the task again
  tick(7);
  EXPECT_EQ(signals_to(successor), (std::vector<int>{SIGKILL}));
}

TEST_F(master_core_spooler_test, WithoutHarakiriNothingIsChecked) {
  start(1, 1);
  launcher.deadlines[0] = mono(0.5);
  EXPECT_FALSE(core->next_deadline());
  tick(10);
  EXPECT_TRUE(launcher.signals.empty());
}

TEST_F(master_core_spooler_test, NoSpoolerNoHarakiriCheck) {
  start_with_harakiri(0);
  EXPECT_FALSE(core->next_deadline());
}

}  // namespace
}  // namespace brood::node::testing

// master_core: idle and cheap mode, die-on-idle, pause, the chain reload and SOS, with a fake
// launcher and fake time.
#include <gtest/gtest.h>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

class master_core_idle_test : public master_core_fixture {
 protected:
  // `workers` slots, idle after 5 s, checks every second, started at 0.
  void start_idle(unsigned workers, bool die = false, unsigned cheaper = 0) {
    master_core_config cfg = config(workers);
    cfg.idle = std::chrono::seconds(5);
    cfg.die_on_idle = die;
    cfg.cheaper.cheaper = cheaper;
    cfg.cheaper.algo = cheaper_algo::manual;
    make_core(cfg);
    start_core(0);
  }
  void idle_all() {
    for (unsigned id = 1; id <= board->size(); ++id) board->at(id).state.store(slot_state::idle);
  }
  void ticks(double from, double to) {
    for (double t = from; t <= to; t += 1) tick(t);
  }
};

TEST_F(master_core_idle_test, NoRequestForIdleSecondsStopsEveryWorkerAndWaitsForAConnection) {
  start_idle(2);
  idle_all();
  ticks(1, 5);
  EXPECT_TRUE(launcher.signals.empty());  // 5 s is not more than idle
  tick(6);
  EXPECT_EQ(signals_to(1000), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(signals_to(1001), (std::vector<int>{SIGTERM}));
  EXPECT_TRUE(core->sleeping());
  EXPECT_TRUE(launcher.waiting_for_connection);
  exit(1000, exited(0), 6.1);
  exit(1001, exited(0), 6.1);
  EXPECT_EQ(worker_spawns(), 2u);
  EXPECT_EQ(board->state(1), slot_state::cheap);
  EXPECT_FALSE(core->finished());
}

TEST_F(master_core_idle_test, TheFirstConnectionWakesEveryWorker) {
  start_idle(3);
  idle_all();
  ticks(1, 6);
  for (pid_t pid = 1000; pid < 1003; ++pid) exit(pid, exited(0), 6.5);
  core->on_connection_waiting(at(7));
  EXPECT_FALSE(core->sleeping());
  EXPECT_FALSE(launcher.waiting_for_connection);
  EXPECT_EQ(worker_spawns(), 6u);
  EXPECT_GT(worker(3), 0);
}

TEST_F(master_core_idle_test, WithCheaperTheConnectionWakesCheaperWorkers) {
  start_idle(4, false, 2);
  idle_all();
  ticks(1, 6);
  exit(1000, exited(0), 6.5);
  exit(1001, exited(0), 6.5);
  core->on_connection_waiting(at(7));
  EXPECT_EQ(worker_spawns(), 4u);
  EXPECT_GT(worker(2), 0);
  EXPECT_EQ(worker(3), 0);
}

TEST_F(master_core_idle_test, RequestsAndBusyWorkersKeepTheNodeAwake) {
  start_idle(1);
  idle_all();
  ticks(1, 4);
  board->at(1).last_end_us.store(at(4.5).wall_us);  // a request ended at 4.5
  ticks(5, 9);
  EXPECT_TRUE(launcher.signals.empty());
  board->at(1).state.store(slot_state::busy);  // a long request
  ticks(10, 20);
  EXPECT_TRUE(launcher.signals.empty());
  board->at(1).state.store(slot_state::idle);
  board->at(1).last_end_us.store(at(20.2).wall_us);
  ticks(21, 25);
  EXPECT_TRUE(launcher.signals.empty());
  EXPECT_EQ(core->next_deadline(), mono(25.201));  // idle 5 s after the end, not at a check
  tick(25.201);
  EXPECT_EQ(signals_to(1000), (std::vector<int>{SIGTERM}));
}

TEST_F(master_core_idle_test, IdleComesIdleSecondsAfterTheLastRequestNotAtTheNextCheck) {
  start_idle(1);
  idle_all();
  board->at(1).last_end_us.store(at(0.3).wall_us);
  ticks(1, 5);
  EXPECT_FALSE(core->sleeping());
  ASSERT_EQ(core->next_deadline(), mono(5.301));
  tick(5.301);
  EXPECT_TRUE(core->sleeping());
}

TEST_F(master_core_idle_test, DieOnIdleWithoutAnEmperorStopsTheNodeWithStatusZero) {
  start_idle(1, true);
  idle_all();
  ticks(1, 6);
  EXPECT_TRUE(core->stopping());
  exit(1000, exited(0), 6.5);
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(core->exit_status(), 0);
}

TEST_F(master_core_idle_test, DieOnIdleAsAVassalAsksTheEmperorOnce) {
  launcher.vassal = true;
  start_idle(1, true);
  idle_all();
  ticks(1, 10);
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1, 22}));
  EXPECT_FALSE(core->stopping());  // the emperor stops it
  core->on_emperor_command(wire::emperor_command::stop, at(11));
  EXPECT_TRUE(core->stopping());
}

TEST_F(master_core_idle_test, GoCheapStopsTheWorkersAtOnce) {
  start(2);
  core->go_cheap(at(1));
  EXPECT_TRUE(core->sleeping());
  EXPECT_TRUE(got(1000, SIGTERM));
  EXPECT_TRUE(got(1001, SIGTERM));
}

TEST_F(master_core_idle_test, InCheapModeTheMasterSendsTheHeartbeats) {
  launcher.vassal = true;
  master_core_config cfg = config(1);
  cfg.heartbeat = std::chrono::seconds(2);
  make_core(cfg);
  start_core(0);
  core->go_cheap(at(1));
  ASSERT_EQ(core->next_deadline(), mono(1));
  tick(1);
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1, 26}));
  tick(2);
  EXPECT_EQ(launcher.emperor.size(), 2u);
  tick(3);
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1, 26, 26}));
  core->on_connection_waiting(at(4));
  tick(6);
  EXPECT_EQ(launcher.emperor.size(), 3u);  // the workers send them again
}

TEST_F(master_core_idle_test, StopInCheapModeStopsWaitingAndFinishes) {
  start(1);
  core->go_cheap(at(1));
  exit(1000, exited(0), 1.1);
  core->on_stop_signal(SIGTERM, at(2));
  EXPECT_FALSE(launcher.waiting_for_connection);
  EXPECT_TRUE(core->finished());
}

TEST_F(master_core_idle_test, PauseStopsTheWorkersAndResumeContinuesThem) {
  start(2);
  core->toggle_pause(at(1));
  EXPECT_TRUE(core->paused());
  EXPECT_EQ(signals_to(1000), (std::vector<int>{SIGSTOP}));
  core->toggle_pause(at(2));
  EXPECT_EQ(signals_to(1001), (std::vector<int>{SIGSTOP, SIGCONT}));
  EXPECT_FALSE(core->paused());
}

TEST_F(master_core_idle_test, StopWhilePausedResumesTheWorkersFirst) {
  start(1);
  core->toggle_pause(at(1));
  core->on_stop_signal(SIGTERM, at(2));
  EXPECT_EQ(signals_to(1000), (std::vector<int>{SIGSTOP, SIGCONT, SIGTERM}));
}

TEST_F(master_core_idle_test, ChainReloadReplacesOneSlotAtATime) {
  start(2);
  launcher.events.clear();
  core->chain_reload(at(1));
  EXPECT_EQ(launcher.events, (std::vector<std::string>{"worker 1 gen 1 -> 1002"}));
  tick(1.1);  // the new worker 1 is not accepting yet
  EXPECT_TRUE(launcher.signals.empty());
  board->at(1).state.store(slot_state::idle);
  tick(1.2);
  EXPECT_EQ(launcher.events, (std::vector<std::string>{"worker 1 gen 1 -> 1002", "signal 1000 15",
                                                       "worker 2 gen 1 -> 1003"}));
  board->at(2).state.store(slot_state::idle);
  tick(1.3);
  EXPECT_TRUE(got(1001, SIGTERM));
  exit(1000, exited(0), 1.4);
  exit(1001, exited(0), 1.4);
  EXPECT_EQ(worker(1), 1002);
  EXPECT_EQ(worker(2), 1003);
  EXPECT_EQ(worker_spawns(), 4u);
}

TEST_F(master_core_idle_test, AskReinforcementsSendsSosToTheEmperor) {
  launcher.vassal = true;
  start(1);
  core->ask_reinforcements();
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1, 30}));
}

TEST_F(master_core_idle_test, AskReinforcementsWithoutAnEmperorSendsNothing) {
  start(1);
  core->ask_reinforcements();
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1}));
}

}  // namespace
}  // namespace brood::node::testing

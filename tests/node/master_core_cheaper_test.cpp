// master_core: the cheaper subsystem as the master applies it (cheaped slots, the FIFO's +/-,
// idle workers only, the RSS limits), with the manual algorithm so that only the master's rules
// act; a fake launcher and fake time.
#include <gtest/gtest.h>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

class master_core_cheaper_test : public master_core_fixture {
 protected:
  // 8 slots, cheaper 2, cheaper-initial `initial`, the manual algorithm, started at 0.
  void start_cheaper(unsigned initial = 2, unsigned processes = 8) {
    master_core_config cfg = config(processes);
    cfg.cheaper.cheaper = 2;
    cfg.cheaper.initial = initial;
    cfg.cheaper.algo = cheaper_algo::manual;
    make_core(cfg);
    start_core(0);
  }
  // Worker `id`'s scoreboard slot as its worker would set it.
  void set_state(unsigned id, slot_state s) { board->at(id).state.store(s); }
  unsigned running() const {
    unsigned n = 0;
    for (std::size_t i = 0; i < core->workers().size(); ++i)
      n += core->workers().at(i).pid > 0 ? 1 : 0;
    return n;
  }
};

TEST_F(master_core_cheaper_test, StartsCheaperInitialWorkersAndCheapsTheOtherSlots) {
  start_cheaper(3);
  EXPECT_EQ(worker_spawns(), 3u);
  EXPECT_EQ(running(), 3u);
  for (unsigned id = 4; id <= 8; ++id) {
    EXPECT_TRUE(core->workers().at(id - 1).cheaped) << id;
    EXPECT_EQ(board->state(id), slot_state::cheap) << id;
  }
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1}));  // ready with 3 of 8
  EXPECT_STREQ(core->cheaper_name(), "manual");
}

TEST_F(master_core_cheaper_test, FifoPlusSpawnsIntoTheLowestCheapedSlot) {
  start_cheaper();
  launcher.events.clear();
  core->cheaper_delta(+1, at(1));
  EXPECT_EQ(launcher.events, (std::vector<std::string>{"worker 3 gen 0 -> 1002"}));
  EXPECT_FALSE(core->workers().at(2).cheaped);
  EXPECT_EQ(core->last_decision().workers, 1);
}

TEST_F(master_core_cheaper_test, FifoMinusCheapsTheOldestIdleWorkerAboveCheaper) {
  start_cheaper();
  core->cheaper_delta(+1, at(1));  // worker 3, the youngest
  for (unsigned id = 1; id <= 3; ++id) set_state(id, slot_state::idle);
  const pid_t oldest = worker(1);
  core->cheaper_delta(-1, at(2));
  EXPECT_EQ(signals_to(oldest), (std::vector<int>{SIGTERM}));
  EXPECT_TRUE(core->workers().at(0).cheaped);
  EXPECT_EQ(worker(1), 0);
  EXPECT_EQ(board->state(1), slot_state::stopping);
  exit(oldest, exited(0), 2.5);
  EXPECT_EQ(worker_spawns(), 3u);  // not respawned
  EXPECT_EQ(board->state(1), slot_state::cheap);
  EXPECT_EQ(board->at(1).pid.load(), 0);
}

TEST_F(master_core_cheaper_test, NeverGoesBelowCheaper) {
  start_cheaper();
  set_state(1, slot_state::idle);
  set_state(2, slot_state::idle);
  core->cheaper_delta(-1, at(1));
  EXPECT_TRUE(launcher.signals.empty());
}

TEST_F(master_core_cheaper_test, BusyWorkerIsNeverCheapedAndTheCutWaitsForAnIdleOne) {
  start_cheaper(3);
  for (unsigned id = 1; id <= 3; ++id) set_state(id, slot_state::busy);
  core->cheaper_delta(-1, at(1));
  EXPECT_TRUE(launcher.signals.empty());
  set_state(2, slot_state::idle);
  tick(2);  // the check retries the FIFO's cut
  EXPECT_EQ(signals_to(1001), (std::vector<int>{SIGTERM}));
  EXPECT_TRUE(signals_to(1000).empty());
  EXPECT_TRUE(signals_to(1002).empty());
}

TEST_F(master_core_cheaper_test, CheapedWorkerFinishingARequestDoesNotBlockARespawnOfItsSlot) {
  start_cheaper(3);
  set_state(3, slot_state::idle);
  core->cheaper_delta(-1, at(1));
  const pid_t leaving = 1002;
  EXPECT_EQ(signals_to(leaving), (std::vector<int>{SIGTERM}));
  core->cheaper_delta(+1, at(1.1));  // slot 3 again, while the old one still finishes
  EXPECT_EQ(worker(3), 1003);
  exit(leaving, exited(0), 1.5);
  EXPECT_EQ(worker(3), 1003);
  EXPECT_EQ(board->at(3).pid.load(), 1003);  // the new owner keeps the slot
  EXPECT_NE(board->state(3), slot_state::cheap);
}

TEST_F(master_core_cheaper_test, CrashedWorkerOfANeededSlotIsRespawned) {
  start_cheaper();
  const pid_t w = worker(2);
  exit(w, killed(SIGSEGV), 5);
  EXPECT_EQ(worker_spawns(), 3u);
  EXPECT_GT(worker(2), 0);
}

TEST_F(master_core_cheaper_test, RssSoftLimitForbidsSpawnsAndHardLimitCheapsOne) {
  master_core_config cfg = config(8);
  cfg.cheaper.cheaper = 2;
  cfg.cheaper.initial = 3;
  cfg.cheaper.algo = cheaper_algo::manual;
  cfg.cheaper.memory_report = true;
  cfg.cheaper.rss_limit_soft = 300;
  cfg.cheaper.rss_limit_hard = 600;
  make_core(cfg);
  start_core(0);
  for (pid_t pid = 1000; pid < 1003; ++pid) launcher.rss[pid] = 100;  // 300: at soft
  core->cheaper_delta(+1, at(1));
  EXPECT_EQ(worker_spawns(), 3u);
  for (unsigned id = 1; id <= 3; ++id) set_state(id, slot_state::idle);
  for (pid_t pid = 1000; pid < 1003; ++pid) launcher.rss[pid] = 200;  // 600: at hard
  tick(1);
  EXPECT_EQ(signals_to(1000), (std::vector<int>{SIGTERM}));
  EXPECT_LT(core->last_decision().workers, 0);
}

TEST_F(master_core_cheaper_test, ReloadSpawnsOnlyTheSlotsInUse) {
  start_cheaper();
  launcher.events.clear();
  core->on_reload_signal(at(1));
  EXPECT_EQ(launcher.events,
            (std::vector<std::string>{"worker 1 gen 1 -> 1002", "worker 2 gen 1 -> 1003",
                                      "signal 1000 15", "signal 1001 15"}));
}

TEST_F(master_core_cheaper_test, BrutalReloadKillsTheOldWorkers) {
  start(2);
  core->reload(master_core::reload_kind::brutal, false, at(1));
  EXPECT_TRUE(got(1000, SIGKILL));
  EXPECT_TRUE(got(1001, SIGKILL));
  EXPECT_EQ(worker(1), 1002);
  exit(1000, killed(SIGKILL), 1.1);
  exit(1001, killed(SIGKILL), 1.1);
  EXPECT_EQ(launcher.emperor, (std::vector<std::uint8_t>{1, 1}));  // reloaded
  EXPECT_EQ(worker_spawns(), 4u);
}

TEST_F(master_core_cheaper_test, WithoutCheaperThePlusIsIgnored) {
  start(2);
  launcher.events.clear();
  core->cheaper_delta(+1, at(1));
  EXPECT_TRUE(launcher.events.empty());
  EXPECT_STREQ(core->cheaper_name(), "");
}

}  // namespace
}  // namespace brood::node::testing

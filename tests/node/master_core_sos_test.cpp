// master_core: a vassal's broodlord triggers (vassal-sos, vassal-sos-backlog), the SOS rate limit
// and zerg attaches, with a fake launcher and fake time.
#include <gtest/gtest.h>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

class master_core_sos_test : public master_core_fixture {
 protected:
  // A vassal with `workers` slots, started at 0.
  void start_sos(unsigned workers, unsigned sos_seconds, unsigned backlog = 0) {
    launcher.vassal = true;
    master_core_config cfg = config(workers);
    cfg.vassal_sos = std::chrono::seconds(sos_seconds);
    cfg.vassal_sos_backlog = backlog;
    make_core(cfg);
    start_core(0);
  }
  void all(slot_state s) {
    for (unsigned id = 1; id <= board->size(); ++id) board->at(id).state.store(s);
  }
  std::size_t sos_sent() const {
    std::size_t n = 0;
    for (std::uint8_t b : launcher.emperor) n += b == 30 ? 1 : 0;
    return n;
  }
};

TEST_F(master_core_sos_test, EveryWorkerBusyForVassalSosSecondsSendsOneSos) {
  start_sos(2, 2);
  all(slot_state::busy);
  core->on_pressure(at(0.5));  // the last idle worker took a request
  ASSERT_EQ(core->next_deadline(), mono(0.6));
  for (double t = 0.6; t < 2.45; t += 0.1) tick(t);
  EXPECT_EQ(sos_sent(), 0u);
  tick(2.5);
  EXPECT_EQ(sos_sent(), 1u);
}

TEST_F(master_core_sos_test, AnIdleWorkerRestartsTheCount) {
  start_sos(2, 2);
  all(slot_state::busy);
  core->on_pressure(at(0.5));
  tick(2);
  board->at(1).state.store(slot_state::idle);
  tick(2.1);
  EXPECT_FALSE(core->next_deadline() == mono(2.2));  // no polling while one is idle
  all(slot_state::busy);
  core->on_pressure(at(3));
  tick(4.9);
  EXPECT_EQ(sos_sent(), 0u);
  tick(5);
  EXPECT_EQ(sos_sent(), 1u);
}

TEST_F(master_core_sos_test, TheNextSosWaitsForAZergOrFiveSeconds) {
  start_sos(1, 1);
  all(slot_state::busy);
  core->on_pressure(at(0));
  tick(1);
  EXPECT_EQ(sos_sent(), 1u);
  for (double t = 1.1; t < 5.95; t += 0.1) tick(t);
  EXPECT_EQ(sos_sent(), 1u);  // no storm
  tick(6);
  EXPECT_EQ(sos_sent(), 2u);  // no zerg came: asked again
  core->on_zerg_attached(at(6.5));
  tick(6.6);
  EXPECT_EQ(sos_sent(), 3u);  // a zerg came and the workers are still all busy
}

TEST_F(master_core_sos_test, ListenQueueAtVassalSosBacklogSendsSos) {
  start_sos(2, 0, 3);
  all(slot_state::busy);
  launcher.backlog = 2;
  core->on_pressure(at(0.2));
  tick(0.3);
  EXPECT_EQ(sos_sent(), 0u);
  launcher.backlog = 3;
  tick(0.4);
  EXPECT_EQ(sos_sent(), 1u);
}

TEST_F(master_core_sos_test, WithoutAnEmperorTheSosIsOnlyLogged) {
  start_sos(1, 1);
  launcher.vassal = false;
  all(slot_state::busy);
  core->on_pressure(at(0));
  tick(1.5);
  EXPECT_EQ(sos_sent(), 0u);
}

TEST_F(master_core_sos_test, NoTriggerNoPolling) {
  start(2);
  all(slot_state::busy);
  core->on_pressure(at(1));
  EXPECT_FALSE(core->next_deadline());
}

}  // namespace
}  // namespace brood::node::testing

// master_core: when the subscription rounds go out (start, +1 s, every subscribe-freq), and the
// withdrawals (stop, pause, graceful reload with unsubscribe-on-graceful-reload), FIFO S and
// start-unsubscribed; with a fake launcher that records each round and fake time.
#include <gtest/gtest.h>

#include <cmath>

#include "master_core_fixture.hpp"

namespace brood::node::testing {
namespace {

class master_core_subscribe_test : public master_core_fixture {
 protected:
  void start_subscribing(unsigned freq = 10, bool unsubscribed = false, bool on_reload = false,
                         bool zerg = false) {
    master_core_config cfg = config(2);
    cfg.shares_vassal_sockets = zerg;
    cfg.subscribe = true;
    cfg.subscribe_freq = std::chrono::seconds(freq);
    cfg.start_unsubscribed = unsubscribed;
    cfg.unsubscribe_on_graceful_reload = on_reload;
    make_core(cfg);
    start_core(0);
  }
  // The rounds so far: "s" subscribe, "u" unsubscribe.
  std::string rounds() const {
    std::string r;
    for (bool u : launcher.subscriptions) r += u ? 'u' : 's';
    return r;
  }
  // Ticks every 0.1 s from `from` to `to` (as the master's timer would, at its deadlines).
  void run(double from, double to) {
    for (int i = 0; from + i * 0.1 <= to + 1e-9; ++i) {
      const double t = std::round((from + i * 0.1) * 1000) / 1000;  // no drift below a deadline
      if (core->next_deadline() && *core->next_deadline() <= mono(t)) tick(t);
    }
  }
};

TEST_F(master_core_subscribe_test, AtStartAfterOneSecondThenEveryFreqFromTheStart) {
  start_subscribing(3);
  EXPECT_EQ(rounds(), "s");
  EXPECT_EQ(core->next_deadline(), mono(1));
  tick(1);
  EXPECT_EQ(rounds(), "ss");
  EXPECT_EQ(core->next_deadline(), mono(3));  // as uWSGI: cycles 0, 1, 3, 6, 9...
  tick(3);
  EXPECT_EQ(core->next_deadline(), mono(6));
  tick(6);
  EXPECT_EQ(rounds(), "ssss");
}

TEST_F(master_core_subscribe_test, ALateTickSkipsTheMissedRounds) {
  start_subscribing(2);
  tick(1);
  tick(9.5);
  EXPECT_EQ(rounds(), "sss");
  EXPECT_EQ(core->next_deadline(), mono(10));
}

TEST_F(master_core_subscribe_test, NoSubscriptionsNoRoundsAndNoDeadline) {
  start(2);
  EXPECT_TRUE(launcher.subscriptions.empty());
  EXPECT_FALSE(core->next_deadline().has_value());
}

TEST_F(master_core_subscribe_test, AGracefulStopWithdrawsOnceAndSendsNoMore) {
  start_subscribing(2);
  core->on_stop_signal(SIGTERM, at(0.5));
  EXPECT_EQ(rounds(), "su");
  EXPECT_LT(position("unsubscribe"), position("signal 1000 15"));  // before the workers stop
  core->on_stop_signal(SIGTERM, at(0.6));  // the second one kills: no second withdrawal
  run(0.6, 5);
  EXPECT_EQ(rounds(), "su");
}

TEST_F(master_core_subscribe_test, AZergOnItsVassalsSocketsAnnouncesButNeverWithdraws) {
  start_subscribing(2, false, false, true);
  core->toggle_pause(at(0.2));
  core->toggle_pause(at(0.3));
  core->on_stop_signal(SIGTERM, at(0.5));
  EXPECT_EQ(rounds(), "ss");  // start, resume; no withdrawal
}

TEST_F(master_core_subscribe_test, TheEmperorsStopWithdrawsToo) {
  start_subscribing(2);
  core->on_emperor_command(wire::emperor_command::stop, at(0.5));
  EXPECT_EQ(rounds(), "su");
}

TEST_F(master_core_subscribe_test, PauseWithdrawsResumeAnnouncesAndNothingWhilePaused) {
  start_subscribing(2);
  core->toggle_pause(at(0.5));
  EXPECT_EQ(rounds(), "su");
  run(0.6, 6);
  EXPECT_EQ(rounds(), "su");
  core->toggle_pause(at(6.05));
  EXPECT_EQ(rounds(), "sus");
  run(6.1, 8.05);
  EXPECT_EQ(rounds(), "suss");  // the round of 8 s
}

TEST_F(master_core_subscribe_test, AStopWhilePausedDoesNotAnnounceAgain) {
  start_subscribing(2);
  core->toggle_pause(at(0.5));
  core->on_stop_signal(SIGINT, at(1));
  EXPECT_EQ(rounds(), "su");
}

TEST_F(master_core_subscribe_test, FifoSBlocksBothAndUnblockingAnnouncesAtOnce) {
  start_subscribing(2);
  core->toggle_subscriptions(at(0.5));
  EXPECT_TRUE(core->subscriptions_blocked());
  run(0.6, 5);
  core->toggle_pause(at(5.05));  // blocked: no withdrawal either
  core->toggle_pause(at(5.06));
  EXPECT_EQ(rounds(), "s");
  core->toggle_subscriptions(at(5.1));
  EXPECT_EQ(rounds(), "ss");
  run(5.2, 6.05);
  EXPECT_EQ(rounds(), "sss");
}

TEST_F(master_core_subscribe_test, StartUnsubscribedSendsNothingUntilFifoS) {
  start_subscribing(2, true);
  run(0.1, 5);
  core->on_stop_signal(SIGTERM, at(5.05));
  EXPECT_EQ(rounds(), "");
}

TEST_F(master_core_subscribe_test, StartUnsubscribedThenFifoS) {
  start_subscribing(2, true);
  run(0.1, 2.95);
  core->toggle_subscriptions(at(3));
  EXPECT_EQ(rounds(), "s");
  run(3.1, 4.05);
  EXPECT_EQ(rounds(), "ss");
}

TEST_F(master_core_subscribe_test, AGracefulReloadKeepsTheSubscriptionByDefault) {
  start_subscribing(2);
  core->on_reload_signal(at(0.5));
  EXPECT_EQ(rounds(), "s");
}

TEST_F(master_core_subscribe_test, UnsubscribeOnGracefulReloadWithdrawsUntilTheReloadCompletes) {
  start_subscribing(2, false, true);
  core->on_reload_signal(at(0.5));
  EXPECT_EQ(rounds(), "su");
  run(0.6, 2.05);  // the old workers still run: no round
  EXPECT_EQ(rounds(), "su");
  exit(1000, exited(0), 2.1);
  exit(1001, exited(0), 2.2);
  EXPECT_EQ(rounds(), "sus");  // reloaded: announced again
  run(2.3, 4.05);
  EXPECT_EQ(rounds(), "suss");
}

TEST_F(master_core_subscribe_test, ABrutalReloadKeepsTheSubscription) {
  start_subscribing(2, false, true);
  core->reload(master_core::reload_kind::brutal, true, at(0.5));
  EXPECT_EQ(rounds(), "s");
}

}  // namespace
}  // namespace brood::node::testing

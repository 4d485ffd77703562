// emperor_core: unexpected exits (respawn, throttle, exile), the blacklist, heartbeats, closed
// channels and launch failures, with a fake launcher and fake time.
#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace brood::emperor::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using wire::vassal_message;

class core_exit_test : public core_fixture {
 protected:
  void SetUp() override {
    emperor_config cfg;
    cfg.throttle = milliseconds(1000);
    cfg.max_throttle = milliseconds(5000);
    cfg.required_heartbeat = seconds(30);
    cfg.curse_tolerance = seconds(10);
    make_core(cfg);
  }
};

TEST_F(core_exit_test, LoyalVassalIsRespawnedAtOnce) {
  add(file("app.ini"), 0);
  message(rec.pids[0], wire::vassal_message::loyal, 1);
  core->on_exit(rec.pids[0], killed(SIGSEGV), at(2));
  ASSERT_EQ(rec.launches.size(), 2u);
  const auto& x = v("app.ini");
  EXPECT_EQ(x.state, vassal_state::running);
  EXPECT_EQ(pid_of("app.ini"), rec.pids[1]);
  EXPECT_EQ(x.respawns, 1u);
  EXPECT_EQ(x.born, at(0).wall);
  EXPECT_EQ(x.last_run, at(2).wall);
  EXPECT_FALSE(x.loyal);  // of the new process
  EXPECT_TRUE(core->blacklist().empty());
}

TEST_F(core_exit_test, NeverLoyalVassalIsThrottledDoublingUpToMaxThrottle) {
  add(file("app.ini"), 0);
  double t = 0;
  const double delays[] = {1, 2, 4, 5, 5};
  for (std::size_t i = 0; i < std::size(delays); ++i) {
    t += 1;
    core->on_exit(rec.pids.back(), exited(1), at(t));
    ASSERT_EQ(v("app.ini").state, vassal_state::respawn);
    ASSERT_TRUE(core->next_deadline());
    EXPECT_EQ(*core->next_deadline(), mono(t + delays[i])) << "death " << i + 1;
    const auto& b = core->blacklist().at("app.ini");
    EXPECT_EQ(b.attempts, i + 1);
    EXPECT_EQ(b.throttle, milliseconds(static_cast<int>(delays[i] * 1000)));
    EXPECT_EQ(b.last_attempt, at(t).wall);
    EXPECT_EQ(b.first_attempt, at(1).wall);
    core->on_tick(at(t + delays[i] - 0.01));
    EXPECT_EQ(rec.launches.size(), i + 1) << "launched before the throttle passed";
    t += delays[i];
    core->on_tick(at(t));
    EXPECT_EQ(rec.launches.size(), i + 2);
    EXPECT_EQ(v("app.ini").state, vassal_state::running);
  }
}

TEST_F(core_exit_test, NoBlacklistRespawnsAtOnce) {
  emperor_config cfg;
  cfg.no_blacklist = true;
  make_core(cfg);
  add(file("app.ini"), 0);
  core->on_exit(rec.pids[0], exited(1), at(1));
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_TRUE(core->blacklist().empty());
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
}

TEST_F(core_exit_test, LoyalClearsTheBlacklistEntry) {
  add(file("app.ini"), 0);
  core->on_exit(rec.pids[0], exited(1), at(1));
  ASSERT_EQ(core->blacklist().size(), 1u);
  core->on_tick(at(2));
  ASSERT_EQ(rec.launches.size(), 2u);
  message(rec.pids[1], wire::vassal_message::loyal, 3);
  EXPECT_TRUE(core->blacklist().empty());
  core->on_exit(rec.pids[1], exited(1), at(4));
  EXPECT_EQ(rec.launches.size(), 3u);  // loyal: at once
}

TEST_F(core_exit_test, ClearBlacklistEmptiesIt) {
  add(file("a.ini"), 0);
  add(file("b.ini"), 0);
  core->on_exit(rec.pids[0], exited(1), at(1));
  core->on_exit(rec.pids[1], exited(1), at(1));
  ASSERT_EQ(core->blacklist().size(), 2u);
  core->clear_blacklist();
  EXPECT_TRUE(core->blacklist().empty());
}

TEST_F(core_exit_test, StatusTwentySixExilesUntilTheFileChanges) {
  add(file("app.ini", 1), 0);
  core->on_exit(rec.pids[0], exited(26), at(1));
  EXPECT_EQ(v("app.ini").state, vassal_state::exiled);
  EXPECT_FALSE(core->next_deadline());
  EXPECT_TRUE(core->blacklist().empty());
  core->on_tick(at(1000));
  EXPECT_EQ(rec.launches.size(), 1u);
  change(file("app.ini", 2), 1001);
  ASSERT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
}

TEST_F(core_exit_test, ChangedFileRestartsAThrottledVassalNow) {
  add(file("app.ini", 1), 0);
  core->on_exit(rec.pids[0], exited(1), at(1));
  change(file("app.ini", 2), 1.5);
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
}

TEST_F(core_exit_test, HeartbeatIsEnforcedOnlyAfterTheFirstOne) {
  add(file("app.ini"), 0);
  const pid_t pid = rec.pids[0];
  EXPECT_FALSE(core->next_deadline());
  core->on_tick(at(1000));
  EXPECT_TRUE(rec.signals.empty());
  message(pid, wire::vassal_message::heartbeat, 1000);
  EXPECT_EQ(v("app.ini").last_heartbeat, at(1000).wall);
  message(pid, wire::vassal_message::heartbeat, 1010);
  EXPECT_EQ(*core->next_deadline(), mono(1040));
  core->on_tick(at(1039.9));
  EXPECT_TRUE(rec.signals.empty());
  core->on_tick(at(1040));
  EXPECT_TRUE(killed_with_sigkill(pid));
  EXPECT_EQ(v("app.ini").last_heartbeat, 0);
  EXPECT_FALSE(core->next_deadline());
  core->on_exit(pid, killed(SIGKILL), at(1040.1));
  EXPECT_EQ(v("app.ini").state, vassal_state::respawn);  // never loyal: throttled
}

TEST_F(core_exit_test, ClosedChannelGetsSigkillAfterCurseToleranceIfStillAlive) {
  add(file("app.ini"), 0);
  const pid_t pid = rec.pids[0];
  message(pid, wire::vassal_message::loyal, 1);
  core->on_channel_closed(pid, at(2));
  EXPECT_EQ(v("app.ini").cursed, at(2).wall);
  EXPECT_EQ(*core->next_deadline(), mono(12));
  core->on_tick(at(11.9));
  EXPECT_TRUE(rec.signals.empty());
  core->on_tick(at(12));
  EXPECT_TRUE(killed_with_sigkill(pid));
  core->on_exit(pid, killed(SIGKILL), at(12.1));
  EXPECT_EQ(rec.launches.size(), 2u);  // was loyal: respawned at once
  EXPECT_EQ(v("app.ini").cursed, 0);
}

TEST_F(core_exit_test, ClosedChannelOfAnExitingProcessNeedsNoSigkill) {
  add(file("app.ini"), 0);
  core->on_channel_closed(rec.pids[0], at(1));
  core->on_exit(rec.pids[0], exited(1), at(1.1));
  core->on_tick(at(100));
  EXPECT_TRUE(rec.signals.empty());
}

TEST_F(core_exit_test, LaunchFailureIsThrottled) {
  launcher.fail_launch = true;
  add(file("app.ini"), 0);
  EXPECT_EQ(v("app.ini").state, vassal_state::respawn);
  EXPECT_FALSE(v("app.ini").process);
  EXPECT_EQ(core->blacklist().at("app.ini").attempts, 1u);
  EXPECT_EQ(*core->next_deadline(), mono(1));
  launcher.fail_launch = false;
  core->on_tick(at(0.5));
  EXPECT_EQ(rec.launches.size(), 1u);
  core->on_tick(at(1));
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
}

TEST_F(core_exit_test, LaunchFailureIsThrottledEvenWithNoBlacklist) {
  emperor_config cfg;
  cfg.no_blacklist = true;
  make_core(cfg);
  launcher.fail_launch = true;
  add(file("app.ini"), 0);
  EXPECT_EQ(v("app.ini").state, vassal_state::respawn);
  EXPECT_GT(*core->next_deadline(), mono(0));  // no busy loop
}

}  // namespace
}  // namespace brood::emperor::testing

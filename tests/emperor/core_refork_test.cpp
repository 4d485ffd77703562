// emperor_core's code updates (docs/uwsgi-compat.md §17.2) with the fake launcher: a base
// restarted on a file change or SIGHUP, the rolling re-fork (successors, hand-over, retired
// processes) and its failures.
#include "core_fork_fixture.hpp"

namespace brood::emperor::testing {
namespace {

using wire::vassal_message;
using core_refork_test = core_fork_test;

TEST_F(core_refork_test, AChangedBaseIsRestartedNotReloaded) {
  ready_base_and_app();
  const pid_t old_base = pid_of("base.ini");
  change(base_file(2), 2);
  EXPECT_EQ(sent(old_base), std::vector<std::uint8_t>{stop_byte});
  core->on_exit(old_base, exited(0), at(3));
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_NE(pid_of("base.ini"), old_base);
  // While the new base starts, a respawning adopted vassal waits for it.
  core->on_exit(pid_of("app.ini"), killed(SIGKILL), at(3.5));
  core->on_tick(at(5));
  EXPECT_EQ(v("app.ini").state, vassal_state::waiting);
}

TEST_F(core_refork_test, SighupRestartsTheBaseAndReloadsTheOthers) {
  ready_base_and_app();
  const pid_t old_base = pid_of("base.ini"), app = pid_of("app.ini");
  core->reload_all(at(2));
  EXPECT_EQ(sent(old_base), std::vector<std::uint8_t>{stop_byte});
  EXPECT_EQ(sent(app), std::vector<std::uint8_t>{reload_byte});
  EXPECT_TRUE(v("base.ini").refork_pending);
  core->on_exit(old_base, exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  EXPECT_EQ(rec.adopt_specs.back().name, "app.ini");
  EXPECT_EQ(rec.adopts.size(), 2u);
}

TEST_F(core_refork_test, TheRestartedBaseReForksAdoptedVassalsOneAtATime) {
  ready_base_and_app();
  add(file("web.ini"), 1.5);
  const pid_t old_app = pid_of("app.ini"), old_web = pid_of("web.ini");
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  // app.ini first: its sockets go as inherited sockets; web.ini waits its turn.
  ASSERT_EQ(rec.adopts.size(), 3u);
  EXPECT_EQ(rec.adopt_inherited[2], 2u);
  EXPECT_EQ(rec.adopt_specs[2].name, "app.ini");
  const pid_t new_app = rec.adopted_pids[2];
  EXPECT_EQ(pid_of("app.ini"), old_app);  // the old one serves until the new one is ready
  message(new_app, vassal_message::ready, 5);
  EXPECT_EQ(pid_of("app.ini"), new_app);
  EXPECT_EQ(sent(old_app), std::vector<std::uint8_t>{hand_over_byte});
  EXPECT_EQ(core->retired().at(old_app), "app.ini");
  EXPECT_EQ(v("app.ini").reforks, 1u);
  EXPECT_TRUE(v("app.ini").ready);
  // Then web.ini.
  ASSERT_EQ(rec.adopts.size(), 4u);
  EXPECT_EQ(rec.adopt_specs[3].name, "web.ini");
  const pid_t new_web = rec.adopted_pids[3];
  message(new_web, vassal_message::ready, 6);
  EXPECT_EQ(sent(old_web), std::vector<std::uint8_t>{hand_over_byte});
  // Retired processes are reaped without respawn.
  core->on_exit(old_app, exited(0), at(7));
  core->on_exit(old_web, exited(0), at(7));
  EXPECT_TRUE(core->retired().empty());
  EXPECT_EQ(rec.adopts.size(), 4u);
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(pid_of("app.ini"), new_app);
  EXPECT_EQ(pid_of("web.ini"), new_web);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
}

TEST_F(core_refork_test, ASuccessorThatDiesFirstLeavesTheOldProcessServing) {
  ready_base_and_app();
  add(file("web.ini"), 1.5);
  const pid_t old_app = pid_of("app.ini");
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  const pid_t new_app = rec.adopted_pids[2];
  message(new_app, vassal_message::loyal, 4.5);  // before ready: ignored
  EXPECT_FALSE(v("app.ini").loyal);
  core->on_exit(new_app, exited(1), at(5));
  EXPECT_EQ(pid_of("app.ini"), old_app);
  EXPECT_TRUE(sent(old_app).empty());
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_EQ(v("app.ini").reforks, 0u);
  EXPECT_EQ(rec.adopt_specs.back().name, "web.ini");  // the next one goes on
}

TEST_F(core_refork_test, ASuccessorWhoseChannelClosesIsKilled) {
  ready_base_and_app();
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  const pid_t new_app = rec.adopted_pids.back();
  core->on_channel_closed(new_app, at(5));
  EXPECT_TRUE(killed_with_sigkill(new_app));
  EXPECT_EQ(v("app.ini").cursed, 0);
}

TEST_F(core_refork_test, NoReForkWhenSocketsCannotBeTakenOrTheBaseRefuses) {
  ready_base_and_app();
  const pid_t old_app = pid_of("app.ini");
  rec.sockets_error = "pidfd_getfd: Operation not permitted";
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  EXPECT_EQ(rec.adopts.size(), 1u);
  EXPECT_EQ(pid_of("app.ini"), old_app);

  rec.sockets_error.clear();
  launcher.adopt_error = "closed the connection without a reply (refused)";
  change(base_file(3), 5);
  core->on_exit(pid_of("base.ini"), exited(0), at(6));
  message(pid_of("base.ini"), vassal_message::ready, 7);
  EXPECT_EQ(rec.adopts.size(), 2u);
  EXPECT_EQ(pid_of("app.ini"), old_app);
  EXPECT_EQ(rec.launches.size(), 3u);  // the bases only: a re-fork never falls back to exec
}

TEST_F(core_refork_test, ASuccessorNeverReadyIsKilledAndTheNextOneGoesOn) {
  ready_base_and_app();
  add(file("web.ini"), 1.5);
  const pid_t old_app = pid_of("app.ini");
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  const pid_t new_app = rec.adopted_pids.back();
  EXPECT_EQ(core->next_deadline(), mono(34));
  core->on_tick(at(34));
  EXPECT_TRUE(killed_with_sigkill(new_app));
  core->on_exit(new_app, killed(SIGKILL), at(34.1));
  EXPECT_EQ(pid_of("app.ini"), old_app);
  EXPECT_EQ(rec.adopt_specs.back().name, "web.ini");
}

TEST_F(core_refork_test, RetiredProcessesGetSigkillAfterTheCurseTolerance) {
  ready_base_and_app();
  const pid_t old_app = pid_of("app.ini");
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  message(rec.adopted_pids.back(), vassal_message::ready, 5);
  EXPECT_EQ(core->next_deadline(), mono(35));
  core->on_tick(at(35));
  EXPECT_TRUE(killed_with_sigkill(old_app));
}

TEST_F(core_refork_test, AVassalStoppedDuringItsReForkStopsTheSuccessorToo) {
  ready_base_and_app();
  const pid_t old_app = pid_of("app.ini");
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  const pid_t new_app = rec.adopted_pids.back();
  remove("app.ini", 5);
  EXPECT_EQ(sent(new_app), std::vector<std::uint8_t>{stop_byte});
  EXPECT_EQ(sent(old_app), std::vector<std::uint8_t>{stop_byte});
  core->on_exit(new_app, exited(0), at(6));
  core->on_exit(old_app, exited(0), at(6));
  EXPECT_EQ(core->vassals().count("app.ini"), 0u);
  EXPECT_TRUE(core->retired().empty());
}

TEST_F(core_refork_test, StopAllWaitsForRetiredProcesses) {
  ready_base_and_app();
  const pid_t old_app = pid_of("app.ini");
  change(base_file(2), 2);
  core->on_exit(pid_of("base.ini"), exited(0), at(3));
  message(pid_of("base.ini"), vassal_message::ready, 4);
  message(rec.adopted_pids.back(), vassal_message::ready, 5);
  core->stop_all(at(6));
  core->on_exit(pid_of("app.ini"), exited(0), at(7));
  core->on_exit(pid_of("base.ini"), exited(0), at(7));
  EXPECT_FALSE(core->finished());
  core->on_exit(old_app, exited(0), at(8));
  EXPECT_TRUE(core->finished());
}

}  // namespace
}  // namespace brood::emperor::testing

// emperor_core's fork server rules (docs/uwsgi-compat.md §17.2) with the fake launcher:
// adoption, fallback to exec, a hung fork server, waiting for a starting base, and the lifecycle
// of adopted vassals.
#include "core_fork_fixture.hpp"

namespace brood::emperor::testing {
namespace {

using wire::vassal_message;

TEST_F(core_fork_test, AVassalIsAdoptedFromTheForkServerWithItsExecCommand) {
  add(file("app.ini"), 0);
  ASSERT_EQ(rec.adopts, std::vector<std::string>{"/run/base.sock"});
  EXPECT_TRUE(rec.launches.empty());
  const launch_spec expected =
      vassal_command(core->config(), file("app.ini"), "/usr/bin/brood", {"PATH=/bin"});
  EXPECT_EQ(rec.adopt_specs[0].argv, expected.argv);
  EXPECT_EQ(rec.adopt_inherited[0], 0u);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_TRUE(v("app.ini").adopted);
  EXPECT_EQ(pid_of("app.ini"), rec.adopted_pids[0]);
  EXPECT_EQ(core->adoptions(), 1u);
  const auto j = stats_of("app.ini");
  EXPECT_EQ(j["adopted"], 1);
  EXPECT_EQ(j["fork_server"], "/run/base.sock");
  EXPECT_EQ(j["fallback"], "");
}

TEST_F(core_fork_test, TheBaseIsExecdByNameWithOrWithoutItsExtension) {
  add(base_file(), 0);
  ASSERT_EQ(rec.launches.size(), 1u);
  EXPECT_TRUE(rec.adopts.empty());
  EXPECT_TRUE(v("base.ini").fork_base);
  EXPECT_FALSE(v("base.ini").adopted);
  EXPECT_EQ(stats_of("base.ini")["fork_base"], 1);

  emperor_config cfg = core->config();
  cfg.fork_bases = {"other.ini"};
  make_core(cfg);
  add(file("other.ini"), 0);
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_TRUE(rec.adopts.empty());
}

TEST_F(core_fork_test, TheFileAttributeNamesTheForkServer) {
  emperor_config cfg = core->config();
  cfg.fork_server.clear();
  cfg.fork_server_attr = "fork-server";
  make_core(cfg);
  vassal_file f = file("app.ini");
  f.fork_server = "/run/other.sock";
  add(f, 0);
  add(file("plain.ini"), 0);  // no attribute, no emperor-use-fork-server: exec'd
  EXPECT_EQ(rec.adopts, std::vector<std::string>{"/run/other.sock"});
  ASSERT_EQ(rec.launches.size(), 1u);
  EXPECT_EQ(rec.launches[0].name, "plain.ini");
}

TEST_F(core_fork_test, AFailedAdoptionExecsAtOnceAndTheStatsSaySo) {
  launcher.adopt_error = "cannot connect to /run/base.sock: No such file or directory";
  add(file("app.ini"), 0);
  ASSERT_EQ(rec.adopts.size(), 1u);
  ASSERT_EQ(rec.launches.size(), 1u);
  EXPECT_EQ(rec.launches[0].argv, rec.adopt_specs[0].argv);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_FALSE(v("app.ini").adopted);
  EXPECT_EQ(core->fallbacks(), 1u);
  const auto j = stats_of("app.ini");
  EXPECT_EQ(j["adopted"], 0);
  EXPECT_EQ(j["fallback"], launcher.adopt_error);
  // The next start tries the fork server again, and a success clears the reason.
  launcher.adopt_error.clear();
  core->on_exit(pid_of("app.ini"), killed(SIGKILL), at(1));
  core->on_tick(at(3));
  EXPECT_TRUE(v("app.ini").adopted);
  EXPECT_EQ(v("app.ini").fallback, "");
}

TEST_F(core_fork_test, AForkServerThatTimedOutIsNotAskedAgainUntilItsBaseIsReady) {
  add(base_file(), 0);
  message(pid_of("base.ini"), vassal_message::ready, 0.5);
  launcher.adopt_error = "no reply from /run/base.sock within 3000 ms";
  launcher.adopt_timeout = true;
  add(file("a.ini"), 1);
  add(file("b.ini"), 2);  // not asked: exec'd at once
  EXPECT_EQ(rec.adopts.size(), 1u);
  EXPECT_EQ(v("b.ini").fallback, "fork server /run/base.sock timed out recently");
  EXPECT_EQ(core->fallbacks(), 2u);
  add(file("c.ini"), 32);  // 30 s later: asked again
  EXPECT_EQ(rec.adopts.size(), 2u);
  // A base that is ready again clears it at once.
  launcher.adopt_error.clear();
  core->on_exit(pid_of("base.ini"), exited(1), at(33));
  core->on_tick(at(40));
  message(pid_of("base.ini"), vassal_message::ready, 41);
  add(file("d.ini"), 42);
  EXPECT_TRUE(v("d.ini").adopted);
}

TEST_F(core_fork_test, VassalsExecdBecauseTheBaseFailedMoveToItWhenItIsReady) {
  launcher.adopt_error = "cannot connect to /run/base.sock: Connection refused";
  add(file("app.ini"), 0);  // no base yet: exec'd
  add(file("plain.ini"), 0.1);
  const pid_t execd = pid_of("app.ini");
  message(execd, vassal_message::ready, 0.5);
  launcher.adopt_error.clear();
  add(base_file(), 1);
  message(pid_of("base.ini"), vassal_message::ready, 2);
  // app.ini is ready: re-forked onto the base with its sockets; plain.ini is not ready yet.
  ASSERT_EQ(rec.adopt_specs.back().name, "app.ini");
  EXPECT_EQ(rec.adopt_inherited.back(), 2u);
  const pid_t adopted = rec.adopted_pids.back();
  message(adopted, vassal_message::ready, 3);
  EXPECT_EQ(sent(execd), std::vector<std::uint8_t>{hand_over_byte});
  EXPECT_EQ(pid_of("app.ini"), adopted);
  EXPECT_TRUE(v("app.ini").adopted);
  EXPECT_EQ(v("app.ini").fallback, "");
  EXPECT_EQ(rec.adopts.size(), 3u);  // app.ini, plain.ini, the re-fork
  core->on_exit(execd, exited(0), at(4));
  EXPECT_EQ(pid_of("app.ini"), adopted);
}

TEST_F(core_fork_test, AdoptedVassalsAreReloadedStoppedAndRespawnedLikeSpawnedOnes) {
  ready_base_and_app();
  const pid_t first = pid_of("app.ini");
  change(file("app.ini", 2), 2);
  EXPECT_EQ(sent(first), std::vector<std::uint8_t>{reload_byte});
  // Loyal and killed: respawned at once, adopted again.
  message(first, vassal_message::loyal, 3);
  core->on_exit(first, killed(SIGKILL), at(4));
  EXPECT_EQ(rec.adopts.size(), 2u);
  const pid_t second = pid_of("app.ini");
  EXPECT_NE(second, first);
  EXPECT_TRUE(v("app.ini").adopted);
  EXPECT_EQ(v("app.ini").respawns, 1u);
  // Never loyal: throttled, then adopted again.
  core->on_exit(second, exited(1), at(5));
  EXPECT_EQ(v("app.ini").state, vassal_state::respawn);
  core->on_tick(at(6.5));
  EXPECT_EQ(rec.adopts.size(), 3u);
  // Heartbeat silence: SIGKILL.
  const pid_t third = pid_of("app.ini");
  message(third, vassal_message::heartbeat, 7);
  core->on_tick(at(40));
  EXPECT_TRUE(killed_with_sigkill(third));
  // Removed: stop byte, the record goes with the exit.
  remove("app.ini", 41);
  EXPECT_EQ(sent(third).back(), stop_byte);
  core->on_exit(third, exited(0), at(42));
  EXPECT_EQ(core->vassals().count("app.ini"), 0u);
}

TEST_F(core_fork_test, AnOnDemandVassalSendsItsSocketWithTheRequest) {
  add(file("od.ini", 1, "/run/od.socket"), 0);
  EXPECT_TRUE(rec.adopts.empty());
  core->on_demand_connection("od.ini", at(1));
  ASSERT_EQ(rec.adopt_specs.size(), 1u);
  EXPECT_EQ(rec.adopt_specs[0].stdin_fd, rec.socket_fd["od.ini"]);
  EXPECT_TRUE(v("od.ini").adopted);
}

TEST_F(core_fork_test, VassalsWaitForAStartingBaseFoundByTheSameScan) {
  core->on_scan({{file("app.ini"), base_file()}, {}, {}}, at(0));
  ASSERT_EQ(rec.launches.size(), 1u);
  EXPECT_EQ(rec.launches[0].name, "base.ini");  // the base starts first
  EXPECT_EQ(v("app.ini").state, vassal_state::waiting);
  EXPECT_TRUE(rec.adopts.empty());
  EXPECT_EQ(core->next_deadline(), mono(5));
  message(pid_of("base.ini"), vassal_message::ready, 1);
  EXPECT_EQ(rec.adopts.size(), 1u);
  EXPECT_TRUE(v("app.ini").adopted);
}

TEST_F(core_fork_test, TheWaitIsBoundedThenTheVassalIsExecd) {
  add(base_file(), 0);
  add(file("app.ini"), 0.1);
  EXPECT_EQ(v("app.ini").state, vassal_state::waiting);
  core->on_tick(at(5));
  EXPECT_EQ(v("app.ini").state, vassal_state::waiting);
  core->on_tick(at(5.2));
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_FALSE(v("app.ini").adopted);
  EXPECT_TRUE(rec.adopts.empty());
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").fallback, "fork base not ready after 5000 ms");
  EXPECT_EQ(core->fallbacks(), 1u);
}

TEST_F(core_fork_test, ABaseOfAnotherSocketDoesNotHoldVassalsBack) {
  vassal_file other = base_file();
  other.serves = "/run/other.sock";
  add(other, 0);
  add(file("app.ini"), 0.1);
  EXPECT_TRUE(v("app.ini").adopted);
}

TEST_F(core_fork_test, AWaitingVassalRemovedIsForgotten) {
  add(base_file(), 0);
  add(file("app.ini"), 0.1);
  remove("app.ini", 1);
  EXPECT_EQ(core->vassals().count("app.ini"), 0u);
  message(pid_of("base.ini"), vassal_message::ready, 2);
  EXPECT_TRUE(rec.adopts.empty());
}

TEST_F(core_fork_test, WithoutForkServerOptionsTheStatsKeepUwsgisFields) {
  emperor_config cfg;
  cfg.sources = {"/etc/vassals"};
  make_core(cfg);
  add(file("app.ini"), 0);
  EXPECT_FALSE(stats_of("app.ini").contains("adopted"));
  EXPECT_TRUE(rec.adopts.empty());
}

}  // namespace
}  // namespace brood::emperor::testing

// emperor_core: scans (spawn, reload, stop), the curse tolerance, stop_all and reload_all, with
// a fake launcher and fake time.
#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace brood::emperor::testing {
namespace {

using wire::vassal_message;

class core_test : public core_fixture {};

TEST_F(core_test, AddedFileSpawnsItsVassal) {
  add(file("app.ini"), 0);
  ASSERT_EQ(rec.launches.size(), 1u);
  const auto& spec = rec.launches[0];
  EXPECT_EQ(spec.name, "app.ini");
  EXPECT_EQ(spec.argv,
            (std::vector<std::string>{"/usr/bin/brood", "--ini", "/etc/vassals/app.ini"}));
  EXPECT_EQ(spec.stdin_fd, -1);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_EQ(pid_of("app.ini"), rec.pids[0]);
  EXPECT_EQ(v("app.ini").born, at(0).wall);
  EXPECT_EQ(v("app.ini").respawns, 0u);
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(core_test, MessagesSetFlags) {
  add(file("app.ini"), 0);
  const pid_t pid = rec.pids[0];
  message(pid, wire::vassal_message::ready, 1);
  message(pid, wire::vassal_message::accepting, 2);
  message(pid, wire::vassal_message::loyal, 3);
  message(pid, wire::vassal_message::sos, 4);             // logged only
  message(pid, wire::vassal_message::config_request, 4);  // logged only
  core->on_message(pid, 99, at(4));                       // unknown: logged only
  const auto& x = v("app.ini");
  EXPECT_TRUE(x.ready && x.accepting && x.loyal);
  EXPECT_EQ(x.last_ready, at(1).wall);
  EXPECT_EQ(x.last_accepting, at(2).wall);
  EXPECT_EQ(x.last_loyal, at(3).wall);
  EXPECT_EQ(x.state, vassal_state::running);
  EXPECT_TRUE(sent(pid).empty());
  EXPECT_EQ(rec.launches.size(), 1u);
}

TEST_F(core_test, ChangedFileReloadsTheVassal) {
  add(file("app.ini", 1), 0);
  change(file("app.ini", 2), 5);
  EXPECT_EQ(sent(rec.pids[0]), (std::vector<std::uint8_t>{1}));
  EXPECT_EQ(v("app.ini").file.mtime, 2);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_EQ(rec.launches.size(), 1u);
}

TEST_F(core_test, RemovedFileStopsTheVassalAndTheRecordGoesAfterItsExit) {
  add(file("app.ini"), 0);
  const pid_t pid = rec.pids[0];
  remove("app.ini", 5);
  EXPECT_EQ(sent(pid), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(v("app.ini").state, vassal_state::stopping);
  EXPECT_EQ(v("app.ini").cursed, at(5).wall);
  core->on_exit(pid, exited(0), at(6));
  EXPECT_TRUE(core->vassals().empty());
  core->on_tick(at(100));
  EXPECT_EQ(rec.launches.size(), 1u);
  EXPECT_TRUE(rec.signals.empty());
}

TEST_F(core_test, KillNowSigkillsAtOnceAndTheRecordGoesAfterItsExit) {
  add(file("app.ini"), 0);
  const pid_t pid = rec.pids[0];
  remove("app.ini", 5);  // what the placement gate does with a fenced vassal, then kill_now
  core->kill_now("app.ini", at(5));
  EXPECT_TRUE(killed_with_sigkill(pid));
  EXPECT_EQ(v("app.ini").state, vassal_state::stopping);
  core->on_exit(pid, exited(0), at(5.1));
  EXPECT_TRUE(core->vassals().empty());
  core->on_tick(at(100));
  EXPECT_EQ(rec.launches.size(), 1u);   // no respawn
  core->kill_now("gone.ini", at(101));  // unknown: nothing
}

TEST_F(core_test, GracefulShutdownStopsWithByteTwo) {
  emperor_config cfg;
  cfg.graceful_shutdown = true;
  make_core(cfg);
  add(file("app.ini"), 0);
  remove("app.ini", 1);
  EXPECT_EQ(sent(rec.pids[0]), (std::vector<std::uint8_t>{2}));
}

TEST_F(core_test, StoppedVassalStillAliveAfterCurseToleranceGetsSigkill) {
  emperor_config cfg;
  cfg.curse_tolerance = std::chrono::seconds(10);
  make_core(cfg);
  add(file("app.ini"), 0);
  const pid_t pid = rec.pids[0];
  remove("app.ini", 5);
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(15));
  core->on_tick(at(14.9));
  EXPECT_TRUE(rec.signals.empty());
  core->on_tick(at(15));
  EXPECT_TRUE(killed_with_sigkill(pid));
  core->on_exit(pid, killed(SIGKILL), at(15.1));
  EXPECT_TRUE(core->vassals().empty());
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(core_test, ExitOfAnUnknownPidIsIgnored) {
  add(file("app.ini"), 0);
  core->on_exit(4242, exited(1), at(1));
  core->on_message(4242, 1, at(1));
  core->on_channel_closed(4242, at(1));
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_EQ(rec.launches.size(), 1u);
}

TEST_F(core_test, ReloadAllSendsReloadToEveryRunningVassal) {
  add(file("a.ini"), 0);
  add(file("b.ini"), 0);
  core->reload_all(at(1));
  EXPECT_EQ(sent(rec.pids[0]), (std::vector<std::uint8_t>{1}));
  EXPECT_EQ(sent(rec.pids[1]), (std::vector<std::uint8_t>{1}));
}

TEST_F(core_test, StopAllStopsEveryVassalAndFinishesAfterTheirExits) {
  emperor_config cfg;
  cfg.mercy = std::chrono::seconds(7);
  make_core(cfg);
  add(file("a.ini"), 0);
  add(file("b.ini"), 0);
  add(file("c.ini"), 0);
  core->on_exit(rec.pids[2], exited(1), at(1));  // c: throttled, no process
  ASSERT_EQ(v("c.ini").state, vassal_state::respawn);
  core->stop_all(at(2));
  EXPECT_TRUE(core->stopping_all());
  EXPECT_EQ(core->vassals().count("c.ini"), 0u);  // nothing to wait for
  EXPECT_EQ(sent(rec.pids[0]), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(sent(rec.pids[1]), (std::vector<std::uint8_t>{0}));
  EXPECT_FALSE(core->finished());
  EXPECT_EQ(*core->next_deadline(), mono(9));
  core->on_exit(rec.pids[0], exited(0), at(3));
  EXPECT_FALSE(core->finished());
  core->on_tick(at(9));
  EXPECT_TRUE(killed_with_sigkill(rec.pids[1]));
  core->on_exit(rec.pids[1], killed(SIGKILL), at(9.1));
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(rec.launches.size(), 3u);
}

TEST_F(core_test, ScansDuringStopAllSpawnNothing) {
  add(file("a.ini", 1), 0);
  core->stop_all(at(1));
  add(file("b.ini"), 2);
  change(file("a.ini", 5), 2);
  EXPECT_EQ(rec.launches.size(), 1u);
  EXPECT_EQ(sent(rec.pids[0]), (std::vector<std::uint8_t>{0}));  // no reload
  core->on_exit(rec.pids[0], exited(1), at(3));
  core->on_tick(at(1000));
  EXPECT_EQ(rec.launches.size(), 1u);
  EXPECT_TRUE(core->finished());
}

TEST_F(core_test, StopAllWithNoVassalIsFinishedAtOnce) {
  core->stop_all(at(0));
  EXPECT_TRUE(core->finished());
}

TEST_F(core_test, FileBackBeforeTheStoppedProcessExitedStartsItAgainAfterTheExit) {
  add(file("app.ini", 1), 0);
  remove("app.ini", 1);
  add(file("app.ini", 3), 2);
  EXPECT_EQ(rec.launches.size(), 1u);
  core->on_exit(rec.pids[0], exited(0), at(3));
  ASSERT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_EQ(v("app.ini").file.mtime, 3);
}

TEST_F(core_test, DescribeNamesEveryVassal) {
  add(file("a.ini"), 0);
  add(file("b.ini"), 0);
  const std::string d = core->describe();
  EXPECT_NE(d.find("a.ini running pid " + std::to_string(rec.pids[0])), std::string::npos) << d;
  EXPECT_NE(d.find("b.ini running"), std::string::npos) << d;
}

}  // namespace
}  // namespace brood::emperor::testing

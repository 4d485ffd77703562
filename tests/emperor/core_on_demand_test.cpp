// emperor_core: on-demand vassals and the idle message (22), with a fake launcher and fake time.
#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace brood::emperor::testing {
namespace {

using wire::vassal_message;

class core_on_demand_test : public core_fixture {
 protected:
  void SetUp() override {
    emperor_config cfg;
    cfg.graceful_shutdown = true;  // going back to on-demand still sends 0
    make_core(cfg);
  }
  // Adds an on-demand vassal and lets a connection start it; returns its pid.
  pid_t add_and_connect(const std::string& name, double t) {
    add(file(name, 1, "/run/" + name + ".socket"), t);
    core->on_demand_connection(name, at(t));
    return rec.pids.back();
  }
};

TEST_F(core_on_demand_test, AddedOnDemandVassalBindsItsSocketAndWaits) {
  add(file("app.ini", 1, "/run/app.socket"), 0);
  EXPECT_EQ(rec.listens, (std::vector<std::string>{"app.ini /run/app.socket"}));
  EXPECT_TRUE(rec.armed.at("app.ini"));
  EXPECT_TRUE(rec.launches.empty());
  EXPECT_EQ(v("app.ini").state, vassal_state::on_demand);
  EXPECT_FALSE(core->next_deadline());
}

TEST_F(core_on_demand_test, ConnectionLaunchesWithTheSocketOnStdinAndDisarms) {
  const pid_t pid = add_and_connect("app.ini", 0);
  ASSERT_EQ(rec.launches.size(), 1u);
  EXPECT_EQ(rec.launches[0].stdin_fd, rec.socket_fd.at("app.ini"));
  EXPECT_FALSE(rec.armed.at("app.ini"));
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
  EXPECT_EQ(pid_of("app.ini"), pid);
  core->on_demand_connection("app.ini", at(1));  // a second report while running: nothing
  EXPECT_EQ(rec.launches.size(), 1u);
}

TEST_F(core_on_demand_test, IdleSendsStopAndTheExitGoesBackToWaiting) {
  const pid_t pid = add_and_connect("app.ini", 0);
  message(pid, wire::vassal_message::idle, 5);
  EXPECT_EQ(sent(pid), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(v("app.ini").state, vassal_state::returning);
  core->on_exit(pid, exited(0), at(6));
  EXPECT_EQ(v("app.ini").state, vassal_state::on_demand);
  EXPECT_TRUE(rec.armed.at("app.ini"));
  EXPECT_EQ(rec.listens.size(), 1u);  // the same socket
  EXPECT_EQ(rec.launches.size(), 1u);
  core->on_demand_connection("app.ini", at(7));
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").respawns, 1u);
}

TEST_F(core_on_demand_test, CrashedOnDemandVassalGoesBackToWaiting) {
  const pid_t pid = add_and_connect("app.ini", 0);
  core->on_exit(pid, exited(1), at(1));
  EXPECT_EQ(v("app.ini").state, vassal_state::on_demand);
  EXPECT_TRUE(rec.armed.at("app.ini"));
  EXPECT_EQ(rec.launches.size(), 1u);
}

TEST_F(core_on_demand_test, RemovedOnDemandVassalClosesItsSocket) {
  add(file("app.ini", 1, "/run/app.socket"), 0);
  remove("app.ini", 1);
  EXPECT_TRUE(core->vassals().empty());
  EXPECT_EQ(rec.armed.count("app.ini"), 0u);  // socket destroyed
}

TEST_F(core_on_demand_test, ChangedSocketAddressRebinds) {
  add(file("app.ini", 1, "/run/app.socket"), 0);
  change(file("app.ini", 2, "/run/other.socket"), 1);
  EXPECT_EQ(rec.listens,
            (std::vector<std::string>{"app.ini /run/app.socket", "app.ini /run/other.socket"}));
  EXPECT_TRUE(rec.armed.at("app.ini"));
}

TEST_F(core_on_demand_test, RunningVassalMovedToOnDemandIsStoppedThenWaits) {
  add(file("app.ini", 1), 0);
  const pid_t pid = rec.pids[0];
  change(file("app.ini", 2, "/run/app.socket"), 1);
  EXPECT_EQ(sent(pid), (std::vector<std::uint8_t>{2}));  // a stop, not a reload
  core->on_exit(pid, exited(0), at(2));
  EXPECT_EQ(v("app.ini").state, vassal_state::on_demand);
  EXPECT_TRUE(rec.armed.at("app.ini"));
  EXPECT_EQ(rec.launches.size(), 1u);
}

TEST_F(core_on_demand_test, SocketThatCannotBeBoundIsThrottled) {
  launcher.fail_listen = true;
  add(file("app.ini", 1, "/run/app.socket"), 0);
  EXPECT_EQ(v("app.ini").state, vassal_state::respawn);
  EXPECT_EQ(core->blacklist().at("app.ini").attempts, 1u);
  launcher.fail_listen = false;
  EXPECT_EQ(*core->next_deadline(), mono(1));
  core->on_tick(at(1));
  EXPECT_EQ(rec.listens.size(), 2u);
  EXPECT_EQ(v("app.ini").state, vassal_state::on_demand);
}

TEST_F(core_on_demand_test, IdleNormalVassalStaysDownUntilItsFileChanges) {
  add(file("app.ini", 1), 0);
  const pid_t pid = rec.pids[0];
  message(pid, wire::vassal_message::idle, 1);
  EXPECT_EQ(sent(pid), (std::vector<std::uint8_t>{2}));  // emperor_stop: graceful here
  core->on_exit(pid, exited(0), at(2));
  EXPECT_EQ(v("app.ini").state, vassal_state::exiled);
  core->on_tick(at(1000));
  EXPECT_EQ(rec.launches.size(), 1u);
  change(file("app.ini", 2), 1001);
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);
}

TEST_F(core_on_demand_test, StopAllClosesWaitingSocketsAndStopsServingVassals) {
  add(file("a.ini", 1, "/run/a.socket"), 0);
  const pid_t pid = add_and_connect("b.ini", 0);
  core->stop_all(at(1));
  EXPECT_EQ(core->vassals().count("a.ini"), 0u);
  EXPECT_EQ(sent(pid), (std::vector<std::uint8_t>{2}));
  core->on_demand_connection("b.ini", at(2));
  core->on_exit(pid, exited(0), at(2));
  EXPECT_TRUE(core->finished());
  EXPECT_EQ(rec.launches.size(), 1u);
}

}  // namespace
}  // namespace brood::emperor::testing

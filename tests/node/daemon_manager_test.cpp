// daemon_manager (attach-daemon) over a fake launcher: spawn, respawn at once after a long run,
// the doubling delay after fast deaths, stop, and exits of other children.
#include "daemon_manager.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <utility>
#include <vector>

namespace brood::node {
namespace {

using namespace std::chrono_literals;

class fake_launcher : public daemon_launcher {
 public:
  pid_t spawn(const std::string& command) override {
    spawned.push_back(command);
    return fail ? -1 : next_pid++;
  }
  void signal(pid_t pid, int signo) override { signals.emplace_back(pid, signo); }
  pid_t live_pid_in(const std::string& pidfile) override {
    return pidfile == "/run/m.pid" ? live : 0;
  }

  std::vector<std::string> spawned;
  std::vector<std::pair<pid_t, int>> signals;
  pid_t next_pid = 100;
  bool fail = false;
  pid_t live = 0;  // the pid in /run/m.pid, while alive
};

class daemon_manager_test : public ::testing::Test {
 protected:
  fake_launcher launcher_;
  daemon_manager daemons_{{{"memcached", {}}, {"redis", {}}}, launcher_};
  daemon_manager::clock::time_point t0_ = daemon_manager::clock::now();
};

TEST_F(daemon_manager_test, StartSpawnsEveryCommand) {
  daemons_.start(t0_);
  EXPECT_EQ(launcher_.spawned, (std::vector<std::string>{"memcached", "redis"}));
  EXPECT_FALSE(daemons_.next_deadline());
}

TEST_F(daemon_manager_test, ALongRunnerIsRespawnedAtOnce) {
  daemons_.start(t0_);
  EXPECT_TRUE(daemons_.on_exit(100, t0_ + 5s));
  EXPECT_EQ(launcher_.spawned.back(), "memcached");
  EXPECT_EQ(launcher_.spawned.size(), 3u);
}

TEST_F(daemon_manager_test, FastDeathsWaitLongerEachTime) {
  daemons_.start(t0_);
  EXPECT_TRUE(daemons_.on_exit(101, t0_ + 100ms));
  EXPECT_EQ(launcher_.spawned.size(), 2u);
  ASSERT_TRUE(daemons_.next_deadline());
  EXPECT_EQ(*daemons_.next_deadline(), t0_ + 100ms + 1s);
  daemons_.on_tick(t0_ + 500ms);
  EXPECT_EQ(launcher_.spawned.size(), 2u);
  const auto t1 = t0_ + 1100ms;
  daemons_.on_tick(t1);
  EXPECT_EQ(launcher_.spawned.back(), "redis");
  EXPECT_TRUE(daemons_.on_exit(102, t1 + 10ms));  // the respawned redis dies fast again
  EXPECT_EQ(*daemons_.next_deadline(), t1 + 10ms + 2s);
}

TEST_F(daemon_manager_test, OtherChildrenAreNotItsOwn) {
  daemons_.start(t0_);
  EXPECT_FALSE(daemons_.on_exit(555, t0_ + 1s));
  EXPECT_EQ(launcher_.spawned.size(), 2u);
}

TEST_F(daemon_manager_test, StopSignalsTheLiveOnesAndNeverRespawns) {
  daemons_.start(t0_);
  const std::vector<pid_t> pids = daemons_.stop();
  EXPECT_EQ(pids, (std::vector<pid_t>{100, 101}));
  EXPECT_EQ(launcher_.signals,
            (std::vector<std::pair<pid_t, int>>{{100, SIGTERM}, {101, SIGTERM}}));
  EXPECT_TRUE(daemons_.on_exit(100, t0_ + 5s));
  EXPECT_EQ(launcher_.spawned.size(), 2u);
  EXPECT_FALSE(daemons_.next_deadline());
}

TEST_F(daemon_manager_test, ASpawnFailureIsRetriedLater) {
  launcher_.fail = true;
  daemons_.start(t0_);
  ASSERT_TRUE(daemons_.next_deadline());
  launcher_.fail = false;
  daemons_.on_tick(*daemons_.next_deadline());
  EXPECT_EQ(launcher_.spawned.size(), 4u);
  EXPECT_EQ(daemons_.stop().size(), 2u);
}

TEST_F(daemon_manager_test, ASmartDaemonIsWatchedThroughItsPidfile) {
  daemon_manager smart({{"memcached -d -P /run/m.pid", "/run/m.pid"}}, launcher_);
  smart.start(t0_);
  ASSERT_EQ(launcher_.spawned.size(), 1u);
  EXPECT_TRUE(smart.on_exit(100, t0_ + 10ms));  // the command detached: no respawn
  launcher_.live = 4242;                        // the daemon wrote its pidfile
  ASSERT_TRUE(smart.next_deadline());
  smart.on_tick(*smart.next_deadline());
  EXPECT_EQ(launcher_.spawned.size(), 1u);
  launcher_.live = 0;  // it died
  const auto t = t0_ + 5s;
  smart.on_tick(t);
  EXPECT_EQ(launcher_.spawned.size(), 2u);
  launcher_.live = 4343;
  // The daemon, and the respawned command that has not ended yet.
  EXPECT_EQ(smart.stop(), (std::vector<pid_t>{4343, 101}));
}

TEST_F(daemon_manager_test, ARunningSmartDaemonIsAdoptedAndStopped) {
  launcher_.live = 4242;
  daemon_manager smart({{"memcached", "/run/m.pid"}}, launcher_);
  smart.start(t0_);
  EXPECT_TRUE(launcher_.spawned.empty());
  EXPECT_EQ(smart.stop(), (std::vector<pid_t>{4242}));
  EXPECT_EQ(launcher_.signals, (std::vector<std::pair<pid_t, int>>{{4242, SIGTERM}}));
}

}  // namespace
}  // namespace brood::node

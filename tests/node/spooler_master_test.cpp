// The spooler processes in a node master (run_node with spooler dirs): spawned before the
// workers, respawned when killed, stopped with the node, restarted on reload, SIGKILLed by
// spooler-harakiri (the task then counts a failed attempt and runs again).
#include <signal.h>
#include <sys/wait.h>

#include <regex>

#include "brood/node/node.hpp"
#include "spooler_fixture.hpp"

namespace brood::node::test {
namespace {

using namespace spooler::test;

class spooler_master_test : public spooler_fixture {
 protected:
  void start_node(unsigned processes = 1) {
    node_config cfg;
    cfg.sockets = {"127.0.0.1:0"};
    cfg.master = true;
    cfg.reload_mercy = 2000ms;
    cfg.spooler = cfg_;
    cfg.spooler.processes = processes;
    const int fd = records_.write_fd();
    node_.start([cfg, fd] {
      node_hooks hooks;
      hooks.spooler = [fd](const spooler::spool_task& t) { return test_handler(t, fd); };
      return run_node(cfg, router{}, hooks);
    });
    ASSERT_TRUE(node_.wait_for("node ready")) << node_.all_output();
  }

  // Pids of the "spawned the uWSGI spooler on dir DIR with pid P" lines, in order.
  std::vector<pid_t> spooler_pids() {
    std::vector<pid_t> out;
    const std::regex re("spawned the uWSGI spooler on dir (\\S+) with pid (\\d+)");
    std::istringstream lines(node_.all_output());
    for (std::string l; std::getline(lines, l);) {
      std::smatch m;
      if (std::regex_search(l, m, re)) out.push_back(std::stoi(m[2]));
    }
    return out;
  }

  void TearDown() override {
    node_.kill_all();
    spooler_fixture::TearDown();
  }

  node_process node_;
};

TEST_F(spooler_master_test, SpoolersAreSpawnedBeforeTheWorkersAndRunTasks) {
  start_node(2);
  const std::string lines = node_.all_output();
  const auto spooler_at = lines.find("spawned the uWSGI spooler on dir " + dir_ + " with pid ");
  ASSERT_NE(spooler_at, std::string::npos) << lines;
  EXPECT_LT(spooler_at, lines.find("spawned uWSGI worker 1"));
  EXPECT_EQ(spooler_pids().size(), 2u);
  enqueue("a");
  auto r = records_.next();
  ASSERT_TRUE(r) << node_.all_output();
  EXPECT_EQ(r->id, "a");
}

TEST_F(spooler_master_test, KilledSpoolerIsRespawned) {
  start_node();
  const pid_t victim = spooler_pids().at(0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(node_.wait_for("respawned the uWSGI spooler")) << node_.all_output();
  EXPECT_TRUE(node_.wait_for("killed by signal 9"));
  enqueue("after");
  auto r = records_.next();
  ASSERT_TRUE(r) << node_.all_output();
  EXPECT_NE(r->pid, victim);
  EXPECT_EQ(r->pid, spooler_pids().back());
}

TEST_F(spooler_master_test, StopWaitsForTheRunningTask) {
  start_node();
  const std::string path = enqueue("slow", {{"do", "sleep"}, {"ms", "500"}});
  ASSERT_TRUE(records_.next());
  ASSERT_EQ(::kill(node_.pid(), SIGTERM), 0);
  auto status = node_.wait_exit(5000ms);
  ASSERT_TRUE(status) << node_.all_output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << node_.all_output();
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(spooler_master_test, ReloadRestartsTheSpoolerAfterItsTask) {
  start_node();
  const pid_t old = spooler_pids().at(0);
  const std::string path = enqueue("slow", {{"do", "sleep"}, {"ms", "300"}});
  ASSERT_TRUE(records_.next());
  ASSERT_EQ(::kill(node_.pid(), SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return spooler_pids().size() == 2; })) << node_.all_output();
  EXPECT_NE(spooler_pids().back(), old);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(node_.all_output().find("previous spooler process died"), std::string::npos);
  enqueue("next");
  auto r = records_.next();
  ASSERT_TRUE(r) << node_.all_output();
  EXPECT_EQ(r->pid, spooler_pids().back());
}

TEST_F(spooler_master_test, HarakiriKillsAStuckTaskWhichThenRunsAgain) {
  cfg_.harakiri = 1s;
  cfg_.retry_delay = 50ms;
  start_node();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string path = enqueue("stuck", {{"do", "hang_once"}});
  ASSERT_TRUE(records_.next());
  ASSERT_TRUE(node_.wait_for("HARAKIRI ON THE SPOOLER", 1, 5000ms)) << node_.all_output();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1000ms);
  auto again = records_.next();
  ASSERT_TRUE(again) << node_.all_output();
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_TRUE(eventually([&] { return !fs::exists(path); }));
  const std::string lines = node_.all_output();
  const auto first = lines.find("HARAKIRI ON THE SPOOLER");
  EXPECT_EQ(lines.find("HARAKIRI ON THE SPOOLER", first + 1), std::string::npos) << lines;
}

}  // namespace
}  // namespace brood::node::test

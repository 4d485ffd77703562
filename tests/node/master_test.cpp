// run_node with a master: N workers serve, a killed worker is respawned, SIGTERM lets the request
// in flight finish, SIGHUP reloads without refusing a connection, reload-mercy ends stuck workers.
// Each test runs the node in a forked child (its own process group) whose stderr the test reads;
// the test process is a child subreaper, so the workers are reaped too.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "brood/node/node.hpp"
#include "brood/os/log.hpp"
#include "node_harness.hpp"
#include "temp_dir.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;
using test::call;
using test::eventually;
using test::make_router;
using test::node_process;

node_config tcp_config(unsigned processes) {
  node_config cfg;
  cfg.sockets = {"127.0.0.1:0"};
  cfg.processes = processes;
  cfg.master = true;
  return cfg;
}

class master_test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
  void TearDown() override { node_.kill_all(); }

  // Starts the node and waits until it is ready; the TCP address it bound is in address_.
  void start(const node_config& cfg) {
    node_.start([cfg] { return run_node(cfg, make_router()); });
    ASSERT_TRUE(node_.wait_for("node ready")) << node_.all_output();
    address_ = node_.wait_bound_address();
    ASSERT_NE(address_, "") << node_.all_output();
  }

  std::int64_t pid_call(const char* what = "pid") {
    auto v = call(address_, what);
    return v && v->is_integer() ? v->as_int64() : -1;
  }

  node_process node_;
  std::string address_;
};

TEST_F(master_test, WorkersServeConcurrently) {
  start(tcp_config(3));
  const auto pids = node_.worker_pids();
  const std::set<pid_t> spawned(pids.begin(), pids.end());
  EXPECT_EQ(spawned.size(), 3u) << node_.all_output();
  // While one worker sleeps in a handler, another one answers.
  std::atomic<std::int64_t> sleeper{0};
  std::thread slow([&] { sleeper = pid_call("sleep"); });
  ASSERT_TRUE(node_.wait_for("handler sleeping"));
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t quick = pid_call();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 400ms);
  slow.join();
  EXPECT_GT(quick, 0);
  EXPECT_GT(sleeper.load(), 0);
  EXPECT_NE(quick, sleeper.load());
  EXPECT_TRUE(spawned.count(quick));
  EXPECT_TRUE(spawned.count(sleeper.load()));
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(spawned.count(pid_call()));
}

TEST_F(master_test, KilledWorkerIsRespawned) {
  start(tcp_config(2));
  const std::int64_t victim = pid_call();
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(victim), SIGKILL), 0);
  ASSERT_TRUE(node_.wait_for("Respawned uWSGI worker")) << node_.all_output();
  EXPECT_TRUE(node_.wait_for("killed by signal 9"));
  EXPECT_EQ(node_.worker_pids().size(), 3u);  // two spawned, one respawned
  for (int i = 0; i < 20; ++i) {
    const std::int64_t pid = pid_call();
    EXPECT_GT(pid, 0);
    EXPECT_NE(pid, victim);
  }
}

TEST_F(master_test, CrashLoopRespawnIsDelayed) {
  start(tcp_config(1));
  EXPECT_FALSE(call(address_, "crash"));  // dies young: respawned at once
  ASSERT_TRUE(node_.wait_for("Respawned uWSGI worker 1"));
  EXPECT_FALSE(call(address_, "crash"));  // dies young again: respawn delayed
  ASSERT_TRUE(node_.wait_for("keeps dying right after its spawn")) << node_.all_output();
  ASSERT_TRUE(node_.wait_for("Respawned uWSGI worker 1", 2));
  EXPECT_GT(pid_call(), 0);
}

TEST_F(master_test, StopLetsTheRequestInFlightFinish) {
  start(tcp_config(2));
  std::atomic<std::int64_t> answer{0};
  std::thread slow([&] { answer = pid_call("sleep"); });
  ASSERT_TRUE(node_.wait_for("handler sleeping"));
  ASSERT_EQ(::kill(node_.pid(), SIGTERM), 0);
  slow.join();
  EXPECT_GT(answer.load(), 0);
  auto status = node_.wait_exit(5s);
  ASSERT_TRUE(status) << node_.all_output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_TRUE(node_.wait_for("goodbye"));
  EXPECT_FALSE(call(address_, "pid"));  // the sockets are closed
}

TEST_F(master_test, ReloadUnderLoadRefusesNothing) {
  start(tcp_config(2));

  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_failure;
  std::thread client([&] {
    while (!done) {
      std::string why;
      if (auto v = call(address_, "pid", &why); v && v->is_integer()) {
        ++ok;
      } else if (failed++ == 0) {
        first_failure = why;
      }
    }
  });
  // Load before, between and after two reloads: 10 more answered calls each time.
  auto ten_more_calls = [&] {
    const int target = ok.load() + 10;
    return eventually([&] { return ok.load() >= target || failed.load() > 0; });
  };
  EXPECT_TRUE(ten_more_calls());
  ASSERT_EQ(::kill(node_.pid(), SIGHUP), 0);
  EXPECT_TRUE(node_.wait_for("workers reloaded (reload 1)")) << node_.all_output();
  EXPECT_TRUE(ten_more_calls());
  ASSERT_EQ(::kill(node_.pid(), SIGHUP), 0);
  EXPECT_TRUE(node_.wait_for("workers reloaded (reload 2)")) << node_.all_output();
  EXPECT_TRUE(ten_more_calls());
  done = true;
  client.join();
  EXPECT_EQ(failed.load(), 0) << failed.load() << " of " << ok.load() + failed.load()
                              << " calls failed, the first with: " << first_failure;
  EXPECT_GT(ok.load(), 20);
  const auto pids = node_.worker_pids();  // 3 generations of 2
  ASSERT_EQ(pids.size(), 6u) << node_.all_output();
  const std::set<pid_t> current(pids.end() - 2, pids.end());
  for (int i = 0; i < 20; ++i) {
    const std::int64_t pid = pid_call();
    EXPECT_TRUE(current.count(pid)) << pid << " is not of the last generation";
  }
}

TEST_F(master_test, ReloadMercyKillsAStuckWorker) {
  node_config cfg = tcp_config(1);
  cfg.reload_mercy = 500ms;
  start(cfg);
  std::thread stuck([&] { call(address_, "hang"); });
  ASSERT_TRUE(node_.wait_for("handler hanging"));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(node_.pid(), SIGHUP), 0);
  ASSERT_TRUE(node_.wait_for("NO MERCY", 1, 3s)) << node_.all_output();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 450ms);
  EXPECT_TRUE(node_.wait_for("workers reloaded (reload 1)"));
  stuck.join();  // its connection dies with the worker
  EXPECT_GT(pid_call(), 0);
}

TEST_F(master_test, SecondStopSignalKillsAtOnce) {
  start(tcp_config(1));  // reload-mercy stays at 60 s
  std::thread stuck([&] { call(address_, "hang"); });
  ASSERT_TRUE(node_.wait_for("handler hanging"));
  ASSERT_EQ(::kill(node_.pid(), SIGINT), 0);
  ASSERT_TRUE(node_.wait_for("gracefully stopping"));
  ASSERT_EQ(::kill(node_.pid(), SIGQUIT), 0);
  auto status = node_.wait_exit(3s);
  stuck.join();
  ASSERT_TRUE(status) << node_.all_output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST_F(master_test, UnixSocketNodeRemovesItsFile) {
  const testing::temp_dir dir("brood_master_");
  const std::string path = dir / "node.sock";
  node_config cfg = tcp_config(2);
  cfg.sockets.push_back(path);
  start(cfg);
  EXPECT_TRUE(node_.wait_for("bound to UNIX address " + path));
  auto v = call(path, "hello");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, wire::value("hello"));
  ASSERT_EQ(::kill(node_.pid(), SIGTERM), 0);
  ASSERT_TRUE(node_.wait_exit(5s));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(master_test, WithoutMasterTheNodeServesInProcess) {
  node_config cfg = tcp_config(1);
  cfg.master = false;
  start(cfg);
  EXPECT_EQ(pid_call(), node_.pid());
  ASSERT_EQ(::kill(node_.pid(), SIGINT), 0);
  auto status = node_.wait_exit(5s);
  ASSERT_TRUE(status) << node_.all_output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST_F(master_test, BindFailureEndsTheNodeWithStatus1) {
  node_config cfg;
  cfg.sockets = {"127.0.0.1:0", "bad..host:3031"};
  cfg.processes = 2;
  node_.start([cfg] { return run_node(cfg, make_router()); });
  auto status = node_.wait_exit(5s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << *status;
  EXPECT_TRUE(node_.wait_for("cannot bind bad..host:3031")) << node_.all_output();
  EXPECT_TRUE(node_.worker_pids().empty());
}

}  // namespace
}  // namespace brood::node

// The vassal side of the emperor channel: a socketpair stands in for the emperor, the node runs in
// a forked child with UWSGI_EMPEROR_FD set to the other end. Checks the bytes the node sends
// (ready, accepting, loyal, heartbeat) and what it does on the emperor's bytes 0, 1, 2 and on EOF.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "brood/node/node.hpp"
#include "brood/os/log.hpp"
#include "brood/wire/emperor_protocol.hpp"
#include "node_harness.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;
using test::call;
using test::eventually;
using test::make_router;
using test::node_process;

node_config vassal_config(unsigned processes) {
  node_config cfg;
  cfg.sockets = {"127.0.0.1:0"};
  cfg.processes = processes;  // no `master`: a vassal runs one anyway
  return cfg;
}

constexpr std::uint8_t byte(wire::vassal_message m) { return to_byte(m); }

class emperor_link_test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
  void TearDown() override {
    node_.kill_all();
    if (emperor_ >= 0) ::close(emperor_);
  }

  // Starts the node as a vassal with `env_value` in UWSGI_EMPEROR_FD (empty: the channel's fd)
  // and waits until it is ready.
  void start(const node_config& cfg, const std::string& env_value = "") {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    emperor_ = sv[0];
    const int vassal = sv[1];
    node_.start([cfg, vassal, env_value, emperor = sv[0]] {
      ::close(emperor);
      ::fcntl(vassal, F_SETFD, 0);  // as an emperor passes it: inherited
      const std::string value = env_value.empty() ? std::to_string(vassal) : env_value;
      ::setenv(wire::emperor_fd_env, value.c_str(), 1);
      return run_node(cfg, make_router());
    });
    ::close(vassal);
    ASSERT_TRUE(node_.wait_for("node ready")) << node_.all_output();
    address_ = node_.wait_bound_address();
    ASSERT_NE(address_, "") << node_.all_output();
  }

  // Reads the emperor's end until `b` arrives (true) or `timeout` passes; every byte read is kept
  // in received_.
  bool wait_byte(std::uint8_t b, std::chrono::milliseconds timeout = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{emperor_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      std::uint8_t got = 0;
      if (::read(emperor_, &got, 1) != 1) return false;
      received_.push_back(got);
      if (got == b) return true;
    }
  }
  std::size_t count(std::uint8_t b) const {
    return std::count(received_.begin(), received_.end(), b);
  }
  void command(wire::emperor_command c) {
    const std::uint8_t b = to_byte(c);
    ASSERT_EQ(::write(emperor_, &b, 1), 1);
  }
  std::int64_t pid_call(const char* what = "pid") {
    auto v = call(address_, what);
    return v && v->is_integer() ? v->as_int64() : -1;
  }
  void expect_exit(int code, std::chrono::milliseconds within) {
    auto status = node_.wait_exit(within);
    ASSERT_TRUE(status) << "still running\n" << node_.all_output();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == code)
        << "wait status " << *status << "\n"
        << node_.all_output();
  }

  node_process node_;
  int emperor_ = -1;
  std::string address_;
  std::vector<std::uint8_t> received_;
};

TEST_F(emperor_link_test, SendsReadyAcceptingThenLoyalOnce) {
  start(vassal_config(2));
  ASSERT_TRUE(wait_byte(byte(wire::vassal_message::ready)));
  if (count(byte(wire::vassal_message::accepting)) == 0) {
    ASSERT_TRUE(wait_byte(byte(wire::vassal_message::accepting)));
  }
  EXPECT_EQ(count(byte(wire::vassal_message::loyal)), 0u);  // no request yet
  EXPECT_GT(pid_call(), 0);
  ASSERT_TRUE(wait_byte(byte(wire::vassal_message::loyal))) << node_.all_output();
  for (int i = 0; i < 10; ++i) EXPECT_GT(pid_call(), 0);  // both workers answer some
  EXPECT_FALSE(wait_byte(byte(wire::vassal_message::loyal), 300ms));
  EXPECT_EQ(count(byte(wire::vassal_message::loyal)), 1u);
  EXPECT_EQ(count(byte(wire::vassal_message::ready)), 1u);
  EXPECT_EQ(count(byte(wire::vassal_message::accepting)), 1u);  // worker 1 only
  EXPECT_EQ(count(byte(wire::vassal_message::heartbeat)), 0u);  // heartbeat is off
}

TEST_F(emperor_link_test, HeartbeatEverySecond) {
  node_config cfg = vassal_config(1);
  cfg.heartbeat = std::chrono::seconds(1);
  start(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_byte(byte(wire::vassal_message::heartbeat)));
  ASSERT_TRUE(wait_byte(byte(wire::vassal_message::heartbeat), 2500ms));
  ASSERT_TRUE(wait_byte(byte(wire::vassal_message::heartbeat), 2500ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1500ms);  // not a burst
}

TEST_F(emperor_link_test, ReloadByteReloadsWithoutRefusing) {
  start(vassal_config(2));
  ASSERT_TRUE(wait_byte(byte(wire::vassal_message::ready)));
  const auto before = node_.worker_pids();
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread client([&] {
    while (!done) (pid_call() > 0 ? ok : failed)++;
  });
  // Load before and after the reload: 10 more answered calls each time.
  auto ten_more_calls = [&] {
    const int target = ok.load() + 10;
    return eventually([&] { return ok.load() >= target || failed.load() > 0; });
  };
  EXPECT_TRUE(ten_more_calls());
  command(wire::emperor_command::reload);
  EXPECT_TRUE(node_.wait_for("workers reloaded (reload 1)")) << node_.all_output();
  EXPECT_TRUE(wait_byte(byte(wire::vassal_message::ready)));  // ready again after the reload
  EXPECT_TRUE(ten_more_calls());
  done = true;
  client.join();
  EXPECT_EQ(failed.load(), 0) << "of " << ok.load() + failed.load();
  EXPECT_GT(ok.load(), 10);
  const auto after = node_.worker_pids();
  ASSERT_EQ(after.size(), 4u) << node_.all_output();
  const std::set<pid_t> current(after.begin() + 2, after.end());
  for (pid_t old : before) EXPECT_FALSE(current.count(old));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(current.count(static_cast<pid_t>(pid_call())));
  EXPECT_EQ(count(byte(wire::vassal_message::ready)), 2u);
}

TEST_F(emperor_link_test, Byte2StopsGracefully) {
  start(vassal_config(2));
  command(wire::emperor_command::stop_gracefully);
  expect_exit(0, 5000ms);
  EXPECT_TRUE(node_.wait_for("the emperor asked to stop gracefully: gracefully stopping"));
}

TEST_F(emperor_link_test, Byte0StopsAtOnce) {
  start(vassal_config(1));  // reload-mercy stays at 60 s: a graceful stop would hang
  std::thread stuck([&] { call(address_, "hang"); });
  ASSERT_TRUE(node_.wait_for("handler hanging"));
  command(wire::emperor_command::stop);
  expect_exit(0, 3000ms);
  stuck.join();
  EXPECT_TRUE(node_.wait_for("the emperor asked to stop: killing all workers now"));
}

TEST_F(emperor_link_test, EofStopsWithStatus1) {
  start(vassal_config(2));
  ::close(emperor_);
  emperor_ = -1;
  expect_exit(1, 3000ms);
  EXPECT_TRUE(node_.wait_for("emperor lost"));
}

TEST_F(emperor_link_test, InvalidFdIsIgnored) {
  start(vassal_config(1), "not-a-number");
  EXPECT_TRUE(node_.wait_for("invalid UWSGI_EMPEROR_FD")) << node_.all_output();
  EXPECT_GT(pid_call(), 0);
  EXPECT_FALSE(wait_byte(byte(wire::vassal_message::ready), 200ms));  // nothing is sent on the pair
}

}  // namespace
}  // namespace brood::node

// run_worker in a forked process: serves, stops gracefully on INT/TERM/QUIT/HUP with status 0,
// and a request in flight is answered first; with its cores prepared ahead of its sockets
// (prepare_worker_cores, the fork server's pre-forked worker) it serves on every core.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <vector>

#include <thread>

#include "brood/os/log.hpp"
#include "node_process.hpp"
#include "serve_fixture.hpp"
#include "worker_process.hpp"

namespace brood::test {
namespace {

using wire::value;

class worker_process_test : public ::testing::Test {
 protected:
  worker_process_test() {
    router_.on_message([](const value& message, std::uint8_t m2) {
      if (m2 == 3) {
        os::log("handler sleeping");
        std::this_thread::sleep_for(300ms);  // the slow request
      }
      // A pair: 5 waits (20 s at most) for a 6 served by another core meanwhile.
      static std::atomic<bool> paired{false};
      if (m2 == 6) paired = true;
      if (m2 == 5) {
        os::log("handler waiting for its pair");
        for (auto until = std::chrono::steady_clock::now() + 20s;
             !paired && std::chrono::steady_clock::now() < until;)
          std::this_thread::sleep_for(1ms);
        return value(paired ? "together" : "alone");
      }
      return message;
    });
    cfg_.socket_timeout = 1s;
  }

  // Forks a process running run_worker on a fresh loopback listener, with at most `max_fds`
  // open files if given; returns the listener's address.
  // `prepare`: the child prepares its cores first, for `prepared_for` (cfg_ when null).
  std::string spawn(rlim_t max_fds = 0, bool prepare = false,
                    const node::node_config* prepared_for = nullptr) {
    std::string where;
    const int fd = listen_tcp_loopback(where);
    EXPECT_GE(fd, 0);
    worker_ = std::make_unique<testing::node_process>();
    worker_->start([this, fd, max_fds, prepare, prepared_for] {
      const rlimit limit{max_fds, max_fds};
      if (max_fds > 0 && ::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 99;
      if (prepare) node::prepare_worker_cores(prepared_for ? *prepared_for : cfg_, router_);
      return node::run_worker(cfg_, router_, {fd}, {});
    });
    ::close(fd);
    return where;
  }

  // The exit status of the worker, or -1 if it has not exited normally within `timeout`.
  int wait_exit(milliseconds timeout) {
    const auto status = worker_->wait_exit(timeout);
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  void signal(int sig) { worker_->signal(sig); }

  node::router router_;
  node::node_config cfg_;
  std::unique_ptr<testing::node_process> worker_;
};

TEST_F(worker_process_test, ServesAndExitsWithZeroOnEachStopSignal) {
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) {
    raw_socket c(spawn());
    ASSERT_TRUE(c.send(message_packet(0, value(sig))));
    auto reply = c.read_packet();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply_value(*reply), value(sig));
    signal(sig);
    EXPECT_TRUE(c.closed_by_peer()) << sig;
    EXPECT_EQ(wait_exit(2s), 0) << "signal " << sig;
  }
}

TEST_F(worker_process_test, RequestInFlightIsAnsweredBeforeExit) {
  raw_socket c(spawn());
  ASSERT_TRUE(c.send(message_packet(0, value("up"))));  // the worker is up and serving
  ASSERT_TRUE(c.read_packet());
  ASSERT_TRUE(c.send(message_packet(3, value("slow"))));
  ASSERT_TRUE(worker_->wait_for("handler sleeping")) << worker_->all_output();
  signal(SIGTERM);
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply_value(*reply), value("slow"));
  c.close();
  EXPECT_EQ(wait_exit(2s), 0);
}

TEST_F(worker_process_test, SecondSignalStopsAtOnce) {
  cfg_.socket_timeout = 3s;
  const std::string where = spawn();
  raw_socket c(where);
  ASSERT_TRUE(c.send(wire::bytes{100, 0, 0, 0}));  // the worker is up and serving c
  ASSERT_TRUE(c.read_exact(4));
  ASSERT_TRUE(c.send(wire::bytes{33, 10, 0, 0}));  // a partial request holds a graceful stop
  EXPECT_TRUE(testing::ping_ok(where));  // the worker's loop turned since the partial arrived
  signal(SIGTERM);
  ASSERT_TRUE(worker_->wait_for("stopping gracefully")) << worker_->all_output();
  signal(SIGTERM);
  EXPECT_EQ(wait_exit(500ms), 0);
}

// Two cores made before the socket: each gets it (core 1 a duplicate), so a request is served
// by one core while the other's handler waits for it.
TEST_F(worker_process_test, PreparedCoresEachServeTheSocket) {
  cfg_.threads = 2;
  const std::string where = spawn(0, true);
  raw_socket waiting(where);
  ASSERT_TRUE(waiting.send(message_packet(5, value("first"))));
  ASSERT_TRUE(worker_->wait_for("handler waiting for its pair")) << worker_->all_output();
  raw_socket pair(where);
  ASSERT_TRUE(pair.send(message_packet(6, value("second"))));
  auto answer = pair.read_packet(30s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(reply_value(*answer), value("second"));
  auto reply = waiting.read_packet(30s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply_value(*reply), value("together"));
  signal(SIGTERM);
  EXPECT_EQ(wait_exit(5s), 0);
}

// Cores prepared for another configuration are not used: run_worker makes its own.
TEST_F(worker_process_test, CoresPreparedForAnotherConfigAreNotUsed) {
  node::node_config other;
  other.threads = 3;
  raw_socket c(spawn(0, true, &other));
  ASSERT_TRUE(c.send(message_packet(0, value("up"))));
  auto reply = c.read_packet(30s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply_value(*reply), value("up"));
  signal(SIGTERM);
  EXPECT_TRUE(c.closed_by_peer(30s));
  EXPECT_EQ(wait_exit(5s), 0);
}

TEST_F(worker_process_test, AcceptResumesAfterRunningOutOfFiles) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr bool sanitized = true;  // g++
#elif defined(__has_feature)
  constexpr bool sanitized = __has_feature(address_sanitizer);  // clang
#else
  constexpr bool sanitized = false;
#endif
  // The sanitizers' own checks need free file descriptors (they probe memory through a pipe).
  if (sanitized) GTEST_SKIP() << "needs a build without sanitizers";
  auto where = spawn(40);
  std::vector<std::unique_ptr<raw_socket>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<raw_socket>(where));  // queued in the backlog if needed
    // An echo, not a ping: a ping's answer closes the connection, which frees the worker's file.
    ASSERT_TRUE(clients.back()->send(message_packet(0, value(i))));
  }
  std::vector<bool> answered(clients.size(), false);
  std::size_t count = 0;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (!answered[i] && clients[i]->read_packet(round == 0 && i == 0 ? 1s : 20ms)) {
        answered[i] = true;
        ++count;
      }
    }
  }
  EXPECT_GT(count, 0u);
  ASSERT_LT(count, clients.size()) << "the file limit was not reached";
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (answered[i]) clients[i]->close();  // frees files in the worker
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (answered[i]) continue;
    auto reply = clients[i]->read_packet(2s);
    ASSERT_TRUE(reply) << i;
    EXPECT_EQ(reply_value(*reply), value(static_cast<int>(i))) << i;
  }
  signal(SIGTERM);
  clients.clear();
  EXPECT_EQ(wait_exit(2s), 0);
}

}  // namespace
}  // namespace brood::test

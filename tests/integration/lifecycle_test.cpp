// The node's process management on real processes: respawn, graceful stop, reload under load.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>
#include "brood/client/client.hpp"
#include "brood/wire/msgpack_codec.hpp"

#include "node_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;
using wire::value;

class lifecycle_test : public node_fixture {
 protected:
  // Starts a node with `extra` options and a stats server; returns the node's address.
  std::string start_node_with_stats(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--stats", "127.0.0.1:0"});
    std::string address = start_node(extra);
    auto line = node().wait_for_line(std::regex("Stats server enabled on (\\S+) fd"));
    EXPECT_TRUE(line) << node().all_output();
    if (line) stats_ = (*line)[1].str();
    return address;
  }
  // True once the stats server shows a busy worker (a request is in the handler).
  bool wait_busy_worker() {
    return eventually([&] {
      raw_socket s(stats_);
      const auto doc = nlohmann::json::parse(s.read_to_eof().value_or(""), nullptr, false);
      if (!doc.is_object() || !doc["workers"].is_array()) return false;
      for (const auto& w : doc["workers"])
        if (w.value("status", "") == "busy") return true;
      return false;
    });
  }

  std::string stats_;
};

TEST_F(lifecycle_test, KilledWorkerIsRespawned) {
  auto address = start_node({"--master", "--processes", "2"});
  auto pids = node().worker_pids();
  ASSERT_EQ(pids.size(), 2u) << node().all_output();
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  eventually([&] { return node().worker_pids().size() >= 3; });
  auto now = node().worker_pids();
  ASSERT_EQ(now.size(), 3u) << node().all_output();
  EXPECT_NE(now[2], pids[0]);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fresh_echo(address, value(i), 2s)) << i;
}

TEST_F(lifecycle_test, GracefulStopFinishesTheRequestInFlight) {
  auto address = start_node_with_stats({"--master", "--processes", "1"});
  std::atomic<bool> answered{false};
  std::thread caller([&] {
    raw_socket s(address);
    if (!s.send(message_packet(98, value(wire::map{{value("ms"), value(700)}})))) return;
    auto r = s.read_packet(5s);
    answered = r && r->head.modifier1 == 33;
  });
  ASSERT_TRUE(wait_busy_worker()) << node().all_output();  // the request is in the handler now
  node().signal(SIGTERM);
  caller.join();
  EXPECT_TRUE(answered) << node().all_output();
  auto status = node().wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(lifecycle_test, StopIsBoundedByMercy) {
  auto address = start_node_with_stats({"--master", "--reload-mercy", "1"});
  std::thread caller([&] {
    raw_socket s(address);
    s.send(message_packet(98, value(wire::map{{value("ms"), value(30000)}})));
    s.read_packet(5s);
  });
  ASSERT_TRUE(wait_busy_worker()) << node().all_output();  // the request is in the handler now
  auto start = steady_clock::now();
  node().signal(SIGTERM);
  auto status = node().wait_exit(10s);
  caller.join();
  ASSERT_TRUE(status) << node().all_output();
  EXPECT_LT(steady_clock::now() - start, 4s);
}

TEST_F(lifecycle_test, ReloadUnderLoadRefusesNoConnection) {
  auto address = start_node({"--master", "--processes", "2"});
  auto before = node().worker_pids();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    int i = 0;
    while (!stop) (fresh_echo(address, value(i++), 3s) ? ok : failed)++;
  });
  // Load before, between and after two reloads: 20 more answered calls each time.
  auto twenty_more_calls = [&] {
    const int target = ok.load() + 20;
    return eventually([&] { return ok.load() >= target || failed.load() > 0; });
  };
  EXPECT_TRUE(twenty_more_calls());
  node().signal(SIGHUP);
  EXPECT_TRUE(node().wait_for_line(std::regex(R"(workers reloaded \(reload 1\))")))
      << node().all_output();
  EXPECT_TRUE(twenty_more_calls());
  node().signal(SIGHUP);
  EXPECT_TRUE(node().wait_for_line(std::regex(R"(workers reloaded \(reload 2\))")))
      << node().all_output();
  EXPECT_TRUE(twenty_more_calls());
  stop = true;
  load.join();
  EXPECT_EQ(failed.load(), 0) << node().all_output();
  EXPECT_GT(ok.load(), 50);
  auto after = node().worker_pids();
  EXPECT_GE(after.size(), before.size() + 4) << node().all_output();
  EXPECT_TRUE(fresh_echo(address, value("after"), 2s));
}

TEST_F(lifecycle_test, SigintStopsANodeWithoutMaster) {
  auto address = start_node();
  EXPECT_TRUE(echo_ok(address));
  node().signal(SIGINT);
  auto status = node().wait_exit(10s);
  ASSERT_TRUE(status) << node().all_output();
  EXPECT_TRUE(WIFEXITED(*status));
}

}  // namespace
}  // namespace brood::testing

namespace brood::testing {
namespace {

// Two requests arriving together at a node with two idle workers run in parallel, one per
// worker: a worker never takes a second connection just before blocking in a handler.
TEST_F(lifecycle_test, SimultaneousRequestsRunOnDifferentWorkers) {
  auto address = start_node({"--master", "--processes", "2"});
  for (int round = 0; round < 6; ++round) {
    std::vector<std::int64_t> pids(2, 0);
    auto start = steady_clock::now();
    std::vector<std::thread> callers;
    for (int i = 0; i < 2; ++i)
      callers.emplace_back([&, i] {
        raw_socket s(address);
        s.send(message_packet(98, value(wire::map{{value("ms"), value(300)}})));
        auto r = s.read_packet(5s);
        wire::value pid;
        if (r && wire::decode_msgpack(r->payload, wire::limits{}, pid).is_done())
          pids[i] = pid.as_int64();
      });
    for (auto& t : callers) t.join();
    auto took = steady_clock::now() - start;
    EXPECT_NE(pids[0], 0);
    EXPECT_NE(pids[0], pids[1]) << "round " << round << ": both ran in one worker";
    EXPECT_LT(took, 550ms) << "round " << round << ": the two requests ran one after the other";
  }
}

}  // namespace
}  // namespace brood::testing

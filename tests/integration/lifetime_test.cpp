// Worker lifetime on real processes (docs/config.md "Worker lifetime"): harakiri kills a worker
// stuck in one request within harakiri + 1 s while the other worker keeps answering, and the
// worker is respawned; max-requests recycles the workers under load without one failed request;
// max-worker-lifetime recycles a worker gracefully (its request in flight is answered).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;
using lifetime_test = cheaper_fixture;

// The pid in the answer to m2 99 on a fresh connection; 0 without one.
std::int64_t pid_call(const std::string& address) {
  raw_socket s(address);
  if (!s.send(message_packet(99, wire::value(0)))) return 0;
  auto reply = s.read_packet(5s);
  if (!reply || reply->head.modifier1 != 33) return 0;
  auto v = reply_value(*reply);
  return v && v->is_integer() ? v->as_int64() : 0;
}

TEST_F(lifetime_test, HarakiriKillsTheStuckWorkerWithinHarakiriPlusOneSecond) {
  const std::string address = start({"--processes", "2", "--harakiri", "2", "--harakiri-verbose"});
  const json ready = stats_until([](const json& d) { return settled(d, 2); });
  ASSERT_TRUE(settled(ready, 2)) << output();
  const auto before = pids(ready);

  const auto sent = steady_clock::now();
  auto stuck = sleep_call(address, 20000, 10s);  // never answered: killed
  const json busy = stats_until([](const json& d) { return with_status(d, "busy") == 1; });
  ASSERT_EQ(with_status(busy, "busy"), 1) << busy.dump(1) << output();
  const auto stuck_pid = *pids(busy, "busy").begin();
  // The other worker never notices: it answers meanwhile.
  for (int i = 0; i < 5; ++i) {
    const std::int64_t other = pid_call(address);
    EXPECT_GT(other, 0) << output();
    EXPECT_NE(other, stuck_pid);
  }
  EXPECT_EQ(stuck.get(), 0) << output();
  const auto took = steady_clock::now() - sent;
  EXPECT_GE(took, 2s) << output();
  EXPECT_LT(took, 3s) << "harakiri 2 must kill within 3 s\n" << output();
  EXPECT_TRUE(logged(R"(\*\*\* HARAKIRI ON WORKER [12] \(pid: )" + std::to_string(stuck_pid) +
                     R"(, try: 1\) \*\*\*)"))
      << output();
  EXPECT_TRUE(
      logged(R"(HARAKIRI \[core 0\] 127\.0\.0\.1:[0-9]+ - modifier1 33 modifier2 98 since)"))
      << output();
  EXPECT_TRUE(logged(R"(HARAKIRI: worker [12] wchan: \S+, syscall: )")) << output();

  // Respawned: two workers again, the stuck one replaced, its harakiri counted.
  const json after =
      stats_until([&](const json& d) { return settled(d, 2) && !pids(d).contains(stuck_pid); });
  ASSERT_TRUE(settled(after, 2)) << after.dump(1) << output();
  EXPECT_EQ(pids(after).size(), 2u);
  std::uint64_t harakiris = 0;
  for (const json& w : after["workers"]) harakiris += w["harakiri_count"].get<std::uint64_t>();
  EXPECT_EQ(harakiris, 1u) << after.dump(1);
  EXPECT_EQ(pids(after).count(*before.begin()) + pids(after).count(*before.rbegin()), 1u);
}

TEST_F(lifetime_test, MaxRequestsRecyclesTheWorkersUnderLoadWithoutAFailedRequest) {
  const std::string address =
      start({"--processes", "2", "--max-requests", "20", "--min-worker-lifetime", "0"});
  ASSERT_TRUE(settled(stats_until([](const json& d) { return settled(d, 2); }), 2)) << output();

  constexpr int clients = 4, per_client = 500;
  std::atomic<int> failed{0};
  std::mutex m;
  std::set<std::int64_t> answered_by;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      std::set<std::int64_t> mine;
      for (int i = 0; i < per_client; ++i) {
        const std::int64_t pid = pid_call(address);
        if (pid <= 0) ++failed;
        mine.insert(pid);
      }
      std::lock_guard lock(m);
      answered_by.insert(mine.begin(), mine.end());
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0) << output();
  // 2000 requests, 20 per worker process: about 100 processes answered.
  EXPECT_GE(answered_by.size(), 80u) << output();
  EXPECT_GE(
      count_once(R"(worker [12] \(pid: [0-9]+\) recycled \(max-requests\): respawning it)", 80),
      80u)
      << output();
  EXPECT_EQ(count("DAMN"), 0u) << output();
  EXPECT_EQ(count("keeps dying"), 0u) << output();
}

TEST_F(lifetime_test, MaxWorkerLifetimeRecyclesGracefully) {
  const std::string address =
      start({"--processes", "1", "--max-worker-lifetime", "2", "--min-worker-lifetime", "1"});
  const json ready = stats_until([](const json& d) { return settled(d, 1); });
  ASSERT_TRUE(settled(ready, 1)) << output();
  const std::int64_t first = *pids(ready).begin();
  // A request in flight when the lifetime is reached is answered by the old worker.
  auto in_flight = sleep_call(address, 1500);
  EXPECT_TRUE(logged(R"(worker 1 lifetime reached, it was running for [0-9]+ second\(s\))", 4s))
      << output();
  EXPECT_EQ(in_flight.get(), first) << output();
  EXPECT_TRUE(logged(R"(worker 1 \(pid: [0-9]+\) recycled \(max-worker-lifetime\): respawning)"))
      << output();
  const json after =
      stats_until([&](const json& d) { return settled(d, 1) && !pids(d).contains(first); });
  EXPECT_TRUE(settled(after, 1)) << after.dump(1) << output();
  const std::int64_t second = pid_call(address);
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
  // As uWSGI's: requests counts the worker id's requests over its respawns, delta_requests
  // those of its current process, respawn_count its spawns.
  const json counted = stats_until([](const json& d) { return d["workers"][0]["requests"] == 2; });
  const json& w = counted["workers"][0];
  EXPECT_EQ(w["requests"], 2) << counted.dump(1);
  EXPECT_EQ(w["delta_requests"], 1) << counted.dump(1);
  EXPECT_EQ(w["respawn_count"], 2) << counted.dump(1);
}

}  // namespace
}  // namespace brood::testing

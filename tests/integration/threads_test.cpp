// threads (docs/config.md "Threads"): one worker process serves N requests at once, one per
// core, and the stats show its cores as uWSGI's do.
#include <chrono>
#include <cstdint>
#include <future>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "cheaper_fixture.hpp"

namespace brood::testing {
namespace {

using clock_type = std::chrono::steady_clock;

class threads_test : public cheaper_fixture {};

TEST_F(threads_test, OneWorkerServesAsManyRequestsAtOnceAsItHasThreads) {
  const std::string address = start({"--processes", "1", "--threads", "4"});
  ASSERT_TRUE(node().wait_for("cores: 4")) << output();
  ASSERT_TRUE(stats_until([](const json& d) { return settled(d, 1); }).is_object()) << output();

  const auto started = clock_type::now();
  std::vector<std::future<std::int64_t>> calls;
  for (int i = 0; i < 4; ++i) calls.push_back(sleep_call(address, 1500));
  std::set<std::int64_t> answered_by;
  for (auto& c : calls) answered_by.insert(c.get());
  const auto took = clock_type::now() - started;

  EXPECT_EQ(answered_by.size(), 1u) << "one process answered them all";
  EXPECT_FALSE(answered_by.count(0)) << output();
  // One after another they would take 6 s; at once, 1.5 s and the round trips.
  EXPECT_LT(took, std::chrono::milliseconds(2900)) << output();

  const json doc = stats_until([](const json& d) { return d["workers"][0]["requests"] == 4; });
  const json& cores = doc["workers"][0]["cores"];
  ASSERT_EQ(cores.size(), 4u) << doc.dump();
  std::uint64_t total = 0;
  for (unsigned i = 0; i < cores.size(); ++i) {
    EXPECT_EQ(cores[i]["id"], i);
    total += cores[i]["requests"].get<std::uint64_t>();
  }
  EXPECT_EQ(total, 4u) << doc.dump();
}

TEST_F(threads_test, AStopSignalDrainsEveryCore) {
  const std::string address = start({"--processes", "1", "--threads", "3"});
  ASSERT_TRUE(stats_until([](const json& d) { return settled(d, 1); }).is_object()) << output();
  std::vector<std::future<std::int64_t>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(sleep_call(address, 800));
  ASSERT_TRUE(stats_until([](const json& d) {
                const json& cores = d["workers"][0]["cores"];
                int busy = 0;
                for (const json& c : cores) busy += c["in_request"] == 1 ? 1 : 0;
                return busy == 3;
              }).is_object())
      << output();
  node().signal(SIGTERM);  // graceful: every request in flight is answered first
  for (auto& c : calls) EXPECT_GT(c.get(), 0) << output();
  EXPECT_TRUE(node().wait_exit(10s).has_value()) << output();
}

TEST_F(threads_test, HarakiriSeesAStuckCoreWhileAnotherKeepsStartingRequests) {
  const std::string address = start({"--processes", "1", "--threads", "2", "--harakiri", "2"});
  ASSERT_TRUE(stats_until([](const json& d) { return settled(d, 1); }).is_object()) << output();
  const auto started = clock_type::now();
  auto stuck = sleep_call(address, 8000, 15s);
  // The other core starts one short request after another: the latest request started is never
  // the stuck one, yet harakiri must see it.
  while (clock_type::now() - started < 4s && count("HARAKIRI ON WORKER 1") == 0)
    sleep_call(address, 50).get();
  EXPECT_TRUE(node().wait_for("HARAKIRI ON WORKER 1", 1, 2s)) << output();
  EXPECT_LT(clock_type::now() - started, std::chrono::milliseconds(3500)) << output();
  EXPECT_EQ(stuck.get(), 0) << "the stuck request is cut, not answered";
  EXPECT_EQ(count("HARAKIRI \\[core [01]\\]"), 1u) << output();
}

}  // namespace
}  // namespace brood::testing

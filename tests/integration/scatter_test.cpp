// send_multi_message against real nodes, with one dead and one stalled target.

#include <chrono>

#include "brood/client/client.hpp"
#include "node_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;
using wire::value;

class scatter_test : public node_fixture {};

TEST_F(scatter_test, GathersInTargetOrder) {
  auto a = start_node();
  auto b = start_node();
  auto c = start_node();
  std::vector<client::target> targets{{a, value(wire::array{value(0), value(1000)})},
                                      {b, value(wire::array{value(1000), value(2000)})},
                                      {c, value(wire::array{value(2000), value(3000)})}};
  auto results = client::send_multi_message(targets, 33, 17, 5s);
  ASSERT_EQ(results.size(), 3u);
  std::int64_t total = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r) << r.error().message;
    for (auto& [k, v] : r->as<wire::map>())
      if (k == value("count")) total += v.as_int64();
  }
  EXPECT_EQ(total, 430);  // primes below 3000
}

TEST_F(scatter_test, DeadAndStalledNodesCostAtMostTheTimeout) {
  auto a = start_node();
  auto b = start_node();
  stalled_listener stalled;
  std::string dead = dead_address();
  std::vector<client::target> targets{{a, value("first")},
                                      {dead, value("dead")},
                                      {stalled.address(), value("stalled")},
                                      {b, value("last")}};
  const auto timeout = 500ms;
  auto start = steady_clock::now();
  auto results = client::send_multi_message(targets, 33, 0, timeout);
  auto took = duration_cast<milliseconds>(steady_clock::now() - start);
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0]) << results[0].error().message;
  EXPECT_EQ(*results[0], value("first"));
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, client::call_errc::refused) << results[1].error().message;
  ASSERT_FALSE(results[2]);
  EXPECT_EQ(results[2].error().code, client::call_errc::timeout) << results[2].error().message;
  ASSERT_TRUE(results[3]) << results[3].error().message;
  EXPECT_EQ(*results[3], value("last"));
  EXPECT_GE(took, timeout - 5ms);
  EXPECT_LT(took, timeout + 150ms);  // generous bound for a loaded 2-core CI machine
}

TEST_F(scatter_test, DeadNodeAloneFailsFast) {
  auto a = start_node();
  std::vector<client::target> targets{{a, value(1)}, {dead_address(), value(2)}};
  auto start = steady_clock::now();
  auto results = client::send_multi_message(targets, 33, 0, 2s);
  EXPECT_LT(steady_clock::now() - start, 500ms);
  EXPECT_TRUE(results[0]);
  EXPECT_FALSE(results[1]);
}

}  // namespace
}  // namespace brood::testing

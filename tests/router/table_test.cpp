#include "brood/router/table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace brood::router {
namespace {

using namespace std::chrono_literals;
using time_point = table::time_point;

wire::subscription sub(std::string_view key, std::string_view addr, std::uint64_t weight = 1) {
  wire::subscription s;
  s.key = key;
  s.address = addr;
  s.weight = weight;
  return s;
}

class table_test : public ::testing::Test {
 protected:
  // Picks `n` times, releasing each pick at once; counts picks per address.
  std::map<std::string, int> distribution(table& t, int n, std::string_view key = "k") {
    std::map<std::string, int> count;
    for (int i = 0; i < n; ++i) {
      node_ref p = t.pick(key, t0);
      if (!p) break;
      ++count[p->address];
      t.release(p);
    }
    return count;
  }
  time_point t0 = time_point() + 1000s;
};

TEST_F(table_test, SubscribeAddsThenRefreshes) {
  table t(algorithm::wrr, 17s);
  EXPECT_EQ(t.apply(sub("k", "a:1"), t0), table::change::new_key_and_node);
  EXPECT_EQ(t.apply(sub("k", "b:1"), t0), table::change::new_node);
  wire::subscription s = sub("k", "a:1", 0);
  s.modifier1 = 5;
  s.modifier2 = 7;
  s.cores = 4;
  s.load = 3;
  EXPECT_EQ(t.apply(s, t0 + 1s), table::change::refreshed);
  node_ref a = t.find("k", "a:1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->weight, 1u);  // 0 counts as 1
  EXPECT_EQ(a->modifier1, 5);
  EXPECT_EQ(a->modifier2, 7);
  EXPECT_EQ(a->cores, 4u);
  EXPECT_EQ(a->load, 3u);
  EXPECT_EQ(t.node_count(), 2u);
}

TEST_F(table_test, UnknownKeyPicksNothing) {
  table t(algorithm::wrr, 17s);
  EXPECT_FALSE(t.pick("nope", t0));
}

TEST_F(table_test, WrrServesEachNodeItsWeightPerRound) {
  table t(algorithm::wrr, 17s);
  t.apply(sub("k", "a", 1), t0);
  t.apply(sub("k", "b", 2), t0);
  t.apply(sub("k", "c", 3), t0);
  auto d = distribution(t, 60);
  EXPECT_EQ(d["a"], 10);
  EXPECT_EQ(d["b"], 20);
  EXPECT_EQ(d["c"], 30);
  // One round of 6: every node its share, before anyone gets more.
  auto r = distribution(t, 6);
  EXPECT_EQ(r["a"], 1);
  EXPECT_EQ(r["b"], 2);
  EXPECT_EQ(r["c"], 3);
}

TEST_F(table_test, WrrWithEqualWeightsAlternates) {
  table t(algorithm::wrr, 17s);
  t.apply(sub("k", "a", 4), t0);
  t.apply(sub("k", "b", 4), t0);
  std::string seq;
  for (int i = 0; i < 4; ++i) {
    node_ref p = t.pick("k", t0);
    seq += p->address;
    t.release(p);
  }
  EXPECT_EQ(seq, "abab");
}

TEST_F(table_test, LrcPicksTheLeastReferencedNode) {
  table t(algorithm::lrc, 17s);
  t.apply(sub("k", "a", 10), t0);
  t.apply(sub("k", "b", 1), t0);
  node_ref p1 = t.pick("k", t0);
  node_ref p2 = t.pick("k", t0);
  node_ref p3 = t.pick("k", t0);
  EXPECT_EQ(p1->address, "a");
  EXPECT_EQ(p2->address, "b");
  EXPECT_EQ(p3->address, "a");
  EXPECT_EQ(p1->references, 2u);
  t.release(p1);
  t.release(p3);
  EXPECT_EQ(t.pick("k", t0)->address, "a");  // a: 0 in flight, b: 1
  // Released at once, lrc keeps picking the first node.
  table u(algorithm::lrc, 17s);
  u.apply(sub("k", "a"), t0);
  u.apply(sub("k", "b"), t0);
  auto d = distribution(u, 10);
  EXPECT_EQ(d["a"], 10);
}

TEST_F(table_test, WlrcPicksTheLeastReferencesPerWeight) {
  table t(algorithm::wlrc, 17s);
  t.apply(sub("k", "a", 3), t0);
  t.apply(sub("k", "b", 1), t0);
  std::map<std::string, int> held;
  std::vector<node_ref> picks;
  for (int i = 0; i < 8; ++i) {
    picks.push_back(t.pick("k", t0));
    ++held[picks.back()->address];
  }
  EXPECT_EQ(held["a"], 6);  // in flight, in the ratio of the weights
  EXPECT_EQ(held["b"], 2);
  for (auto& p : picks) t.release(p);
}

TEST_F(table_test, ANodeNotRefreshedWithinTheToleranceExpiresAtLookup) {
  table t(algorithm::wrr, 17s);
  t.apply(sub("k", "a"), t0);
  t.apply(sub("k", "b"), t0 + 10s);
  node_ref p = t.pick("k", t0 + 18s);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->address, "b");
  EXPECT_FALSE(t.find("k", "a"));  // death-marked with no reference: gone
  t.release(p);
  EXPECT_FALSE(t.pick("k", t0 + 28s));
  EXPECT_TRUE(t.slots().empty());
}

TEST_F(table_test, UnsubscribeWhileARequestRunsKeepsTheNodeUntilItEnds) {
  table t(algorithm::wrr, 17s);
  t.apply(sub("k", "a"), t0);
  t.apply(sub("k", "b"), t0);
  node_ref a = t.pick("k", t0);
  ASSERT_EQ(a->address, "a");
  wire::subscription u = sub("k", "a");
  u.unsubscribe = true;
  EXPECT_EQ(t.apply(u, t0), table::change::unsubscribed);
  node_ref still = t.find("k", "a");
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->death_mark);
  EXPECT_EQ(still->failcnt, 1u);
  for (int i = 0; i < 4; ++i) {
    node_ref p = t.pick("k", t0);
    EXPECT_EQ(p->address, "b");
    t.release(p);
  }
  t.release(a);
  EXPECT_FALSE(t.find("k", "a"));
  EXPECT_TRUE(a->removed);
  EXPECT_EQ(t.apply(u, t0), table::change::unknown_node);
}

TEST_F(table_test, AFailedNodeIsSkippedUntilItSubscribesAgain) {
  table t(algorithm::wrr, 17s);
  t.apply(sub("k", "a"), t0);
  t.apply(sub("k", "b"), t0);
  node_ref a = t.pick("k", t0);
  t.mark_failed(a);
  t.release(a);
  EXPECT_FALSE(t.find("k", "a"));
  EXPECT_EQ(distribution(t, 3)["b"], 3);
  EXPECT_EQ(t.apply(sub("k", "a"), t0 + 1s), table::change::new_node);
  EXPECT_EQ(distribution(t, 4)["a"], 2);
}

TEST_F(table_test, ParsesAlgorithmNames) {
  EXPECT_EQ(parse_algorithm("wrr"), algorithm::wrr);
  EXPECT_EQ(parse_algorithm("lrc"), algorithm::lrc);
  EXPECT_EQ(parse_algorithm("wlrc"), algorithm::wlrc);
  EXPECT_FALSE(parse_algorithm("rr"));
}

}  // namespace
}  // namespace brood::router

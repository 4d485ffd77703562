// cheaper-algo busyness (docs/uwsgi-compat.md §7.6) with brood's real busy time (uWSGI issue
// #1463). Defaults: computations every cheaper-overload = 3 s, cheap timer 3 s * multiplier 10 = 30
// s.
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::node::testing {
namespace {

class cheaper_busyness_test : public cheaper_fixture {
 protected:
  cheaper_busyness_test() { make(cheaper_algo::busyness); }

  // `n` checks; the index (1-based) of every non-zero decision with its sign.
  std::vector<int> actions(unsigned n) {
    std::vector<int> out;
    const std::vector<int> d = checks(n);
    for (unsigned i = 0; i < n; ++i)
      if (d[i] != 0) out.push_back(d[i] > 0 ? static_cast<int>(i + 1) : -static_cast<int>(i + 1));
    return out;
  }
};

TEST_F(cheaper_busyness_test, SpawnsStepWhenTheAverageIsAboveMax) {
  cfg.busyness.verbose = true;
  make(cheaper_algo::busyness);
  pool.shape(2, 0);
  check();
  EXPECT_EQ(checks(3), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(checks(3), (std::vector<int>{0, 0, 1}));
}

TEST_F(cheaper_busyness_test, InFlightRequestCountsAsBusy) {
  pool.shape(0, 2);
  check();
  pool.advance(1s);
  for (unsigned id : {1u, 2u}) {
    pool.at(id).running_us += 10'000;  // a 10 ms request completed
    ++pool.at(id).requests;
  }
  pool.shape(2, 0);  // then a long one, still in flight at the computation
  pool.advance(2s);
  const cheaper_decision d = check();
  EXPECT_EQ(d.workers, 1) << "67% busy: uWSGI's completed requests alone would say 0%";
}

TEST_F(cheaper_busyness_test, WorkerKilledMidRequestCountsAsIdle) {
  pool.shape(2, 0);
  check();
  EXPECT_EQ(checks(3).back(), 1);
  for (unsigned id : {1u, 2u}) {  // both killed: their requests in flight are lost
    pool.at(id).state = pool_slot::idle;
    pool.at(id).request_start_us = 0;
  }
  EXPECT_EQ(checks(3).back(), 0) << "a negative delta is 0%, not 100%";
}

TEST_F(cheaper_busyness_test, CheapsBelowMinOnlyAtNextCheap) {
  pool.shape(0, 4);
  check();
  EXPECT_EQ(actions(60), (std::vector<int>{-30, -60}));
}

TEST_F(cheaper_busyness_test, NeverCheapsAtCheaper) {
  pool.shape(0, 2);
  check();
  EXPECT_TRUE(actions(90).empty());
}

TEST_F(cheaper_busyness_test, QuickRespawnAddsThePenaltyToTheCheapTimer) {
  pool.shape(2, 0);
  check();
  EXPECT_EQ(actions(3), (std::vector<int>{3}));  // t = 3: next cheap at 33
  pool.shape(0, 3);
  EXPECT_EQ(actions(30), (std::vector<int>{-30}));  // t = 33
  pool.shape(2, 0);
  EXPECT_EQ(actions(3), (std::vector<int>{3}));  // t = 36: cheaped 3 s ago, multiplier 12
  pool.shape(0, 3);
  EXPECT_EQ(actions(36), (std::vector<int>{-36})) << "36 s after the spawn, not 30";
}

TEST_F(cheaper_busyness_test, AverageWithinBoundsKeepsPushingTheCheapBack) {
  pool.shape(2, 2);  // 50%: within [25, 50]
  check();
  EXPECT_TRUE(actions(60).empty());
  pool.shape(0, 4);
  EXPECT_EQ(actions(30), (std::vector<int>{-30})) << "30 s after the last computation at 50%";
}

TEST_F(cheaper_busyness_test, EmergencySpawnWhenTheQueueIsAboveAlert) {
  cfg.busyness.backlog_step = 2;
  make(cheaper_algo::busyness);
  pool.shape(0, 2);
  check();
  pool.backlog = 34;
  EXPECT_EQ(checks(1), (std::vector<int>{2})) << "without waiting for the computation";
  pool.backlog = 33;
  EXPECT_EQ(checks(3), (std::vector<int>{0, 0, 0}));
}

TEST_F(cheaper_busyness_test, EmergencySpawnWhenTheQueueStaysNonEmpty) {
  pool.shape(2, 2);
  check();
  pool.backlog = 1;
  EXPECT_EQ(actions(130), (std::vector<int>{61, 121}));
}

TEST_F(cheaper_busyness_test, EmergencyWorkersAreCheapedAfterTheBacklogMultiplier) {
  pool.shape(0, 2);
  check();
  pool.backlog = 40;
  EXPECT_EQ(checks(1), (std::vector<int>{1}));  // t = 1: cheap timer 3 s * 3 = 9 s
  pool.apply({1, {}, {}}, cfg.cheaper);
  pool.backlog = 0;
  EXPECT_EQ(actions(11), (std::vector<int>{-11})) << "the first computation after t = 10";
}

TEST_F(cheaper_busyness_test, NoSpawnWhenSpawningIsNotAllowed) {
  pool.shape(2, 0);
  pool.backlog = 50;
  pool.can_spawn = false;
  check();
  EXPECT_TRUE(actions(90).empty());
}

}  // namespace
}  // namespace brood::node::testing

// cheaper-algo spare (docs/uwsgi-compat.md §7.3): uWSGI 2.0.x's sequences.
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::node::testing {
namespace {

class cheaper_spare_test : public cheaper_fixture {
 protected:
  cheaper_spare_test() { make(cheaper_algo::spare); }
};

TEST_F(cheaper_spare_test, SpawnsAfterOverloadPlusOneFullyBusyChecks) {
  pool.shape(2, 0);
  EXPECT_EQ(checks(4), (std::vector<int>{0, 0, 0, 1}));
  EXPECT_EQ(checks(4), (std::vector<int>{0, 0, 0, 1})) << "the count starts over";
}

TEST_F(cheaper_spare_test, SpawnsAtMostStepAndTheCheapedSlots) {
  cfg.step = 4;
  make(cheaper_algo::spare);
  pool.shape(2, 0);
  EXPECT_EQ(checks(4).back(), 4);
  pool.shape(7, 0);
  EXPECT_EQ(checks(4).back(), 1);
  pool.shape(8, 0);
  EXPECT_EQ(checks(8), std::vector<int>(8, 0));
}

TEST_F(cheaper_spare_test, CheapsOneEveryOverloadIdleChecks) {
  pool.shape(1, 4);
  EXPECT_EQ(checks(6), (std::vector<int>{0, 0, -1, 0, 0, -1}));
}

TEST_F(cheaper_spare_test, ExactlyOneFreeWorkerIsStable) {
  pool.shape(4, 1);
  EXPECT_EQ(checks(10), std::vector<int>(10, 0));
}

TEST_F(cheaper_spare_test, NeverCheapsAtCheaper) {
  pool.shape(0, 2);
  EXPECT_EQ(checks(10), std::vector<int>(10, 0));
}

TEST_F(cheaper_spare_test, IdleChecksFirstPayBackTheOverload) {
  pool.shape(2, 0);
  checks(3);
  pool.shape(1, 4);
  EXPECT_EQ(checks(5), (std::vector<int>{0, 0, 0, 0, -1}));
}

TEST_F(cheaper_spare_test, OverloadCountsNeedConsecutiveBusyChecks) {
  pool.shape(2, 0);
  checks(3);
  pool.shape(1, 1);
  checks(1);
  pool.shape(2, 0);
  EXPECT_EQ(checks(2), (std::vector<int>{0, 1}));
}

TEST_F(cheaper_spare_test, StartingWorkerIsFreeCapacity) {
  pool.shape(2, 0, 1);
  EXPECT_EQ(checks(10), std::vector<int>(10, 0));
}

TEST_F(cheaper_spare_test, NoSpawnWhenSpawningIsNotAllowed) {
  pool.shape(2, 0);
  pool.can_spawn = false;
  EXPECT_EQ(checks(10), std::vector<int>(10, 0));
}

}  // namespace
}  // namespace brood::node::testing

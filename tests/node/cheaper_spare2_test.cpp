// cheaper-algo spare2 (docs/uwsgi-compat.md §7.5), which spawns (uWSGI issue #2467).
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::node::testing {
namespace {

class cheaper_spare2_test : public cheaper_fixture {
 protected:
  cheaper_spare2_test() { make(cheaper_algo::spare2); }
};

TEST_F(cheaper_spare2_test, SpawnsUpToStepToKeepCheaperIdle) {
  pool.shape(2, 0);
  EXPECT_EQ(check().workers, 1);
  cfg.step = 2;
  make(cheaper_algo::spare2);
  EXPECT_EQ(check().workers, 2);
  pool.shape(2, 1);
  cfg.step = 4;
  make(cheaper_algo::spare2);
  EXPECT_EQ(check().workers, 1);
}

TEST_F(cheaper_spare2_test, SpawnIsLimitedByTheCheapedSlots) {
  cfg.step = 4;
  make(cheaper_algo::spare2);
  pool.shape(7, 0);
  EXPECT_EQ(check().workers, 1);
  pool.shape(8, 0);
  EXPECT_EQ(check().workers, 0);
}

TEST_F(cheaper_spare2_test, ExactlyCheaperIdleIsStable) {
  pool.shape(3, 2);
  EXPECT_EQ(checks(30), std::vector<int>(30, 0));
}

TEST_F(cheaper_spare2_test, CheapsOneAfterCheaperIdleChecks) {
  pool.shape(0, 5);
  std::vector<int> ten(10, 0);
  ten.back() = -1;
  EXPECT_EQ(checks(10), ten);
  EXPECT_EQ(checks(10), ten) << "the count starts over";
}

TEST_F(cheaper_spare2_test, CheaperIdleOptionCountsChecks) {
  cfg.idle = 3s;
  make(cheaper_algo::spare2);
  pool.shape(1, 4);
  EXPECT_EQ(checks(3), (std::vector<int>{0, 0, -1}));
}

TEST_F(cheaper_spare2_test, ShortageResetsTheIdleCount) {
  pool.shape(0, 5);
  checks(9);
  pool.shape(4, 1);
  EXPECT_EQ(check().workers, 1);
  pool.shape(0, 5);
  EXPECT_EQ(checks(9), std::vector<int>(9, 0));
  EXPECT_EQ(check().workers, -1);
}

TEST_F(cheaper_spare2_test, StartingWorkersCountAsIdle) {
  pool.shape(2, 0, 2);
  EXPECT_EQ(checks(5), std::vector<int>(5, 0));
  pool.shape(2, 1, 1);
  EXPECT_EQ(checks(5), std::vector<int>(5, 0));
}

TEST_F(cheaper_spare2_test, NoSpawnWhenSpawningIsNotAllowed) {
  pool.shape(2, 0);
  pool.can_spawn = false;
  EXPECT_EQ(checks(5), std::vector<int>(5, 0));
}

}  // namespace
}  // namespace brood::node::testing

// cheaper-algo backlog (docs/uwsgi-compat.md §7.4) and brood's fix: a queue no worker can take
// spawns.
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::node::testing {
namespace {

class cheaper_backlog_test : public cheaper_fixture {
 protected:
  cheaper_backlog_test() { make(cheaper_algo::backlog); }
};

TEST_F(cheaper_backlog_test, SpawnsStepWhenTheQueueIsAboveOverload) {
  pool.shape(2, 2);
  pool.backlog = 4;
  EXPECT_EQ(check().workers, 1);
  cfg.step = 3;
  make(cheaper_algo::backlog);
  EXPECT_EQ(check().workers, 3);
  pool.shape(7, 0);
  EXPECT_EQ(check().workers, 1) << "one cheaped slot";
}

TEST_F(cheaper_backlog_test, SpawnsWhenAShortQueueHasNoFreeWorker) {
  pool.shape(6, 0);
  pool.backlog = 2;
  EXPECT_EQ(check().workers, 1);
  cfg.step = 4;
  make(cheaper_algo::backlog);
  EXPECT_EQ(check().workers, 2) << "no more than the queue";
}

TEST_F(cheaper_backlog_test, ShortQueueWithAFreeWorkerNeitherSpawnsNorCheaps) {
  pool.shape(5, 0, 1);
  pool.backlog = 2;
  EXPECT_EQ(check().workers, 0);
  pool.shape(3, 1);
  pool.backlog = 1;
  EXPECT_EQ(check().workers, 0);
}

TEST_F(cheaper_backlog_test, CheapsOneWhenTheQueueIsEmptyAndAWorkerIdle) {
  pool.shape(2, 3);
  EXPECT_EQ(check().workers, -1);
  pool.shape(4, 0);
  EXPECT_EQ(check().workers, 0) << "no idle worker";
  pool.shape(1, 1);
  EXPECT_EQ(check().workers, 0) << "at cheaper";
}

TEST_F(cheaper_backlog_test, EightClientsGetEightWorkersAndKeepThem) {
  pool.shape(0, 2);
  for (int i = 0; i < 30; ++i) {
    pool.load(8);
    pool.advance(1s);
    const cheaper_decision d = check();
    if (pool.snapshot().active() == slots) {
      EXPECT_GE(d.workers, 0) << "check " << i;
    }
    pool.apply(d, cfg.cheaper);
  }
  EXPECT_EQ(pool.snapshot().active(), slots);
}

TEST_F(cheaper_backlog_test, NoSpawnWhenSpawningIsNotAllowed) {
  pool.shape(2, 0);
  pool.backlog = 10;
  pool.can_spawn = false;
  EXPECT_EQ(checks(5), std::vector<int>(5, 0));
}

}  // namespace
}  // namespace brood::node::testing

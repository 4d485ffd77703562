// make_cheaper_algorithm: each cheaper-algo by name; manual never decides.
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::node::testing {
namespace {

class cheaper_factory_test : public cheaper_fixture {};

TEST_F(cheaper_factory_test, BuildsTheChosenAlgorithm) {
  for (cheaper_algo a : {cheaper_algo::brood, cheaper_algo::spare, cheaper_algo::spare2,
                         cheaper_algo::backlog, cheaper_algo::busyness, cheaper_algo::manual}) {
    make(a);
    ASSERT_NE(algo, nullptr);
    EXPECT_EQ(algo->kind(), a) << to_string(a);
    EXPECT_EQ(algo->event_driven(), a == cheaper_algo::brood) << to_string(a);
  }
}

TEST_F(cheaper_factory_test, BroodIsTheDefault) {
  algo = make_cheaper_algorithm(cheaper_config{.cheaper = 2}, slots);
  EXPECT_EQ(algo->kind(), cheaper_algo::brood);
}

TEST_F(cheaper_factory_test, ManualNeverDecides) {
  make(cheaper_algo::manual);
  pool.shape(2, 0);
  pool.backlog = 50;
  EXPECT_EQ(checks(10), std::vector<int>(10, 0));
  pool.shape(0, 8);
  pool.backlog = 0;
  EXPECT_EQ(checks(10), std::vector<int>(10, 0));
}

}  // namespace
}  // namespace brood::node::testing

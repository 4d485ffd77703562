// process_pool: slots and their current process, live processes, respawn and SIGKILL deadlines.
#include "process_pool.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace brood::node {
namespace {

using namespace std::chrono_literals;
using time_point = process_pool::time_point;

time_point t(std::chrono::milliseconds ms) { return time_point{} + 1000h + ms; }

TEST(process_pool_test, SpawnedProcessBecomesItsSlotsCurrentOne) {
  process_pool pool(2);
  EXPECT_FALSE(pool.all_running());
  pool.spawned(0, 100, t(0ms), false);
  pool.spawned(1, 101, t(0ms), true);
  EXPECT_TRUE(pool.all_running());
  EXPECT_EQ(pool.at(1).pid, 101);
  EXPECT_EQ(pool.at(1).respawns, 1u);
  EXPECT_EQ(pool.at(0).respawns, 0u);
  ASSERT_NE(pool.find(100), nullptr);
  EXPECT_EQ(pool.find(101)->slot, 1u);
  EXPECT_EQ(pool.find(555), nullptr);
}

TEST(process_pool_test, DetachedProcessLivesOnBesideItsSuccessor) {
  process_pool pool(1);
  pool.spawned(0, 100, t(0ms), false);
  pool.detach(0);
  pool.spawned(0, 200, t(5ms), false);
  EXPECT_EQ(pool.processes().size(), 2u);
  const auto old = pool.exited(100);
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->current);
  EXPECT_EQ(pool.at(0).pid, 200);
  const auto young = pool.exited(200);
  ASSERT_TRUE(young);
  EXPECT_TRUE(young->current);
  EXPECT_EQ(young->was.spawned, t(5ms));
  EXPECT_EQ(pool.at(0).pid, 0);
  EXPECT_TRUE(pool.empty());
  EXPECT_FALSE(pool.exited(200));
}

TEST(process_pool_test, EarliestKillDeadlineStandsAndIsTakenOnce) {
  process_pool pool(2);
  pool.spawned(0, 100, t(0ms), false);
  pool.spawned(1, 101, t(0ms), false);
  pool.tell_to_stop(100, t(500ms), true);
  pool.tell_to_stop(100, t(900ms), false);
  EXPECT_TRUE(pool.find(100)->retiring);
  EXPECT_FALSE(pool.find(100)->restart_on_exit);
  EXPECT_TRUE(pool.any_retiring());
  EXPECT_EQ(pool.next_deadline(), t(500ms));
  EXPECT_TRUE(pool.take_due_kills(t(499ms)).empty());
  const auto due = pool.take_due_kills(t(500ms));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].first, 100);
  EXPECT_EQ(due[0].second, 0u);
  EXPECT_TRUE(pool.take_due_kills(t(600ms)).empty());
  EXPECT_FALSE(pool.next_deadline());
}

TEST(process_pool_test, RespawnsAreDueOnceAndCanBeCancelled) {
  process_pool pool(3);
  pool.respawn_at(0, t(300ms));
  pool.respawn_at(2, t(100ms));
  EXPECT_EQ(pool.next_deadline(), t(100ms));
  EXPECT_EQ(pool.take_due_respawns(t(100ms)), (std::vector<std::size_t>{2}));
  EXPECT_EQ(pool.next_deadline(), t(300ms));
  pool.cancel_respawns();
  EXPECT_FALSE(pool.next_deadline());
  EXPECT_TRUE(pool.take_due_respawns(t(1000ms)).empty());
}

TEST(process_pool_test, SpawnDropsAPendingRespawn) {
  process_pool pool(1);
  pool.respawn_at(0, t(100ms));
  pool.spawned(0, 100, t(50ms), true);
  EXPECT_FALSE(pool.next_deadline());
}

TEST(process_pool_test, DeathBacksOffUnlessClean) {
  process_pool pool(1);
  EXPECT_EQ(pool.on_death(0, 10ms, false), 0ms);
  EXPECT_EQ(pool.on_death(0, 10ms, false), 100ms);
  EXPECT_EQ(pool.on_death(0, 10ms, false), 200ms);
  EXPECT_EQ(pool.on_death(0, 10ms, true), 0ms);
  EXPECT_EQ(pool.on_death(0, 10ms, false), 0ms);  // the count started over
  EXPECT_EQ(pool.on_death(0, 10ms, false), 100ms);
  pool.detach(0);  // a new generation starts over too
  EXPECT_EQ(pool.on_death(0, 10ms, false), 0ms);
}

}  // namespace
}  // namespace brood::node

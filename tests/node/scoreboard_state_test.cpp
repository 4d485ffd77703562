// The scoreboard's state per slot: the master's transitions (spawn, stop, exit) and the
// worker's (accepting, busy while a request is in flight, stopping when it closes its listeners).
#include <gtest/gtest.h>
#include <unistd.h>

#include "scoreboard.hpp"

namespace brood::node {
namespace {

class scoreboard_state_test : public ::testing::Test {
 protected:
  scoreboard board_{2};
  const pid_t self_ = ::getpid();
};

TEST_F(scoreboard_state_test, NamesOfTheStates) {
  EXPECT_STREQ(to_string(slot_state::empty), "empty");
  EXPECT_STREQ(to_string(slot_state::starting), "starting");
  EXPECT_STREQ(to_string(slot_state::idle), "idle");
  EXPECT_STREQ(to_string(slot_state::busy), "busy");
  EXPECT_STREQ(to_string(slot_state::stopping), "stopping");
}

TEST_F(scoreboard_state_test, MasterSideSpawnStopAndExit) {
  EXPECT_EQ(board_.state(1), slot_state::empty);
  board_.record_spawn(1, 4242, 1700000123);
  EXPECT_EQ(board_.state(1), slot_state::starting);
  EXPECT_EQ(board_.at(1).last_spawn.load(), 1700000123);
  board_.record_stopping(1, 4141);  // not the owner: nothing
  EXPECT_EQ(board_.state(1), slot_state::starting);
  board_.record_stopping(1, 4242);
  EXPECT_EQ(board_.state(1), slot_state::stopping);
  board_.record_exit(1, 4242);
  EXPECT_EQ(board_.state(1), slot_state::empty);
  EXPECT_EQ(board_.state(2), slot_state::empty);
}

TEST_F(scoreboard_state_test, WorkerGoesIdleBusyIdleThenStopping) {
  board_.record_spawn(2, self_, 1);
  board_.claim(2);
  EXPECT_EQ(board_.state(2), slot_state::starting);
  slot_recorder rec;
  rec.set_accepting(true);
  EXPECT_EQ(board_.state(2), slot_state::idle);
  const auto a = rec.request_started();
  const auto b = rec.request_started();
  EXPECT_EQ(board_.state(2), slot_state::busy);
  rec.request_ended(a, 1, false, false);
  EXPECT_EQ(board_.state(2), slot_state::busy);  // one still in flight
  rec.request_ended(b, 1, false, false);
  EXPECT_EQ(board_.state(2), slot_state::idle);
  rec.request_started();
  rec.set_accepting(false);  // closed its listeners: stopping, even with a request in flight
  EXPECT_EQ(board_.state(2), slot_state::stopping);
  rec.request_ended(b, 1, false, false);
  EXPECT_EQ(board_.state(2), slot_state::stopping);
}

TEST_F(scoreboard_state_test, ChildThatClaimedFirstKeepsItsState) {
  board_.claim(1);  // the forked worker ran before its master recorded the fork
  slot_recorder rec;
  rec.set_accepting(true);
  board_.record_spawn(1, self_, 1);
  EXPECT_EQ(board_.state(1), slot_state::idle);
  EXPECT_EQ(board_.at(1).respawn_count.load(), 1u);
}

TEST_F(scoreboard_state_test, RetiringWorkerLeavesItsSuccessorsState) {
  board_.claim(1);
  slot_recorder old;
  old.set_accepting(true);
  board_.record_spawn(1, self_ + 1, 1);  // the new generation owns the slot
  EXPECT_EQ(board_.state(1), slot_state::starting);
  old.request_started();
  old.set_accepting(false);
  EXPECT_EQ(board_.state(1), slot_state::starting);
  board_.record_exit(1, self_);
  EXPECT_EQ(board_.state(1), slot_state::starting);
}

TEST_F(scoreboard_state_test, StoppingIsNotUndoneByTheWorkersRequests) {
  board_.record_spawn(1, self_, 1);
  board_.claim(1);
  slot_recorder rec;
  rec.set_accepting(true);
  board_.record_stopping(1, self_);
  const auto t = rec.request_started();
  EXPECT_EQ(board_.state(1), slot_state::stopping);
  rec.request_ended(t, 1, false, false);
  EXPECT_EQ(board_.state(1), slot_state::stopping);
}

}  // namespace
}  // namespace brood::node

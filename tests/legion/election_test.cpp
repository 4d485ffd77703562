// The election's rules (election.hpp, docs/architecture.md §6), one scenario at a time:
// simulated members on a network with 1 ms delays and explicit (simulated) times. One member
// driven message by message: election_unit_test.cpp.
#include "brood/legion/election.hpp"

#include <gtest/gtest.h>

#include "election_sim.hpp"

namespace brood::legion {
namespace {

using testing::ms;
using testing::nanos;
using testing::sim;
using testing::sim_event;
using testing::sim_options;

sim_options three(std::vector<std::int64_t> valors = {}) {
  sim_options o;
  o.members = 3;
  o.valors = std::move(valors);
  return o;
}

double at_ms(nanos t) { return std::chrono::duration<double, std::milli>(t).count(); }

class legion_election_test : public ::testing::Test {
 protected:
  void TearDown() override {
    if (s_) {
      EXPECT_EQ(s_->violation(), "");
    }
  }
  sim& make(sim_options o) {
    s_.emplace(std::move(o));
    return *s_;
  }
  std::optional<sim> s_;
};

TEST_F(legion_election_test, ElectsTheHighestValorAfterOneLease) {
  sim& s = make(three({1, 3, 2}));
  s.run_until(ms(390));
  EXPECT_EQ(s.lord(), std::nullopt);  // nobody grants before it has run for a lease
  s.run_until(ms(600));
  ASSERT_EQ(s.lord(), 1u);
  s.run_until(ms(3000));
  ASSERT_EQ(s.lord(), 1u);
  const auto lords = s.lord_events();
  ASSERT_EQ(lords.size(), 1u);  // stable: no lord change without faults
  EXPECT_EQ(lords[0].member, 1u);
  EXPECT_EQ(lords[0].ev.epoch, 1u);
  for (std::size_t i = 0; i < 3; ++i) {
    const legion_view v = s.view(i);
    EXPECT_EQ(v.lord_uuid, s.uuid(1)) << i;
    EXPECT_EQ(v.lord_address, s.address(1)) << i;
    EXPECT_EQ(v.lord_valor, 3) << i;
    EXPECT_EQ(v.epoch, 1u) << i;
    EXPECT_EQ(v.i_am_the_lord, i == 1) << i;
    EXPECT_EQ(v.members.size(), 2u);
    for (const member_view& m : v.members) EXPECT_TRUE(m.alive) << m.address;
  }
}

TEST_F(legion_election_test, GreaterUuidBreaksAValorTie) {
  sim& s = make(three({5, 5, 5}));
  s.run_until(ms(1500));
  std::size_t best = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    if (s.uuid(i) > s.uuid(best)) best = i;
  }
  EXPECT_EQ(s.lord(), best);
  EXPECT_EQ(s.lord_events().size(), 1u);
}

TEST_F(legion_election_test, ArbitersVoteButNeverLead) {
  sim& s = make(three({0, 0, 1}));
  s.run_until(ms(1500));
  EXPECT_EQ(s.lord(), 2u);
  s.crash(2);
  s.run_until(ms(4000));
  EXPECT_EQ(s.lord(), std::nullopt);
  EXPECT_EQ(s.lord_events().size(), 1u);
}

TEST_F(legion_election_test, OnlyArbitersElectNobody) {
  sim& s = make(three({0, 0, 0}));
  s.run_until(ms(3000));
  EXPECT_TRUE(s.lord_events().empty());
}

TEST_F(legion_election_test, QuorumLossUnlordsBeforeTheLeaseEndsElsewhere) {
  sim& s = make(three());
  s.run_until(ms(1000));
  ASSERT_EQ(s.lord(), 0u);
  s.isolate(0);
  const nanos cut = s.now();
  s.run_until(ms(3000));
  EXPECT_EQ(s.lord(), 1u);  // the majority side elects the next best
  std::optional<nanos> unlord, next_lord;
  for (const sim_event& e : s.events()) {
    if (e.at < cut) continue;
    if (e.member == 0 && e.ev.kind == hook_event::unlord && !unlord) unlord = e.at;
    if (e.member == 1 && e.ev.kind == hook_event::lord && !next_lord) next_lord = e.at;
  }
  ASSERT_TRUE(unlord && next_lord);
  // The cut lord stops acting within a lease, before the others can elect (promises last a
  // full lease after the last renew they received).
  EXPECT_LT(at_ms(*unlord - cut), 400.0);
  EXPECT_LT(*unlord, *next_lord);
  EXPECT_GT(at_ms(*next_lord - cut), 300.0);
  // The minority side never becomes lord again while cut off.
  for (const sim_event& e : s.events()) {
    if (e.member == 0 && e.at > cut) {
      EXPECT_NE(e.ev.kind, hook_event::lord);
    }
  }
  EXPECT_GT(s.lord_events().back().ev.epoch, s.lord_events().front().ev.epoch);
  s.heal_all();
  s.run_until(ms(5000));
  EXPECT_EQ(s.lord(), 0u);  // back to the best once it is heard again
}

TEST_F(legion_election_test, LordResignsToABetterMember) {
  sim& s = make(three());
  s.crash(0, false);
  s.run_until(ms(1500));
  ASSERT_EQ(s.lord(), 1u);
  s.restart(0);
  const nanos back = s.now();
  s.run_until(ms(3000));
  ASSERT_EQ(s.lord(), 0u);
  const auto lords = s.lord_events();
  ASSERT_EQ(lords.size(), 2u);
  EXPECT_GT(lords[1].ev.epoch, lords[0].ev.epoch);
  // Handed over once the better member can grant itself a lease, without a lease-long gap.
  std::optional<nanos> unlord;
  for (const sim_event& e : s.events()) {
    if (e.member == 1 && e.ev.kind == hook_event::unlord) unlord = e.at;
  }
  ASSERT_TRUE(unlord);
  EXPECT_GE(at_ms(*unlord - back), 400.0);
  EXPECT_LT(at_ms(lords[1].at - *unlord), 50.0);
}

// With keep_lord (a legion with placement) the better member that comes back does not take over
// while the lord's lease holds; it becomes lord only when the lord goes.
TEST_F(legion_election_test, WithKeepLordABetterMemberDoesNotTakeOver) {
  sim_options o = three();
  o.keep_lord = true;
  sim& s = make(o);
  s.crash(0, false);
  s.run_until(ms(1500));
  ASSERT_EQ(s.lord(), 1u);
  s.restart(0);
  s.run_until(ms(4000));
  EXPECT_EQ(s.lord(), 1u);
  EXPECT_EQ(s.lord_events().size(), 1u);
  s.crash(1);
  s.run_until(ms(5000));
  EXPECT_EQ(s.lord(), 0u);  // the best of those left
}

// With keep_lord, members cut one after the other (never two at once) never depose the lord: the
// best member, back from its cut, does not run for lord (it would fail and then refuse the lord's
// renews, leaving the lord with one voter: the next cut of that voter deposed it).
TEST_F(legion_election_test, WithKeepLordCutsOfOneMemberAtATimeKeepTheLord) {
  sim_options o = three({3, 2, 1});
  o.keep_lord = true;
  sim& s = make(o);
  s.isolate(0);
  s.run_until(ms(1500));
  ASSERT_EQ(s.lord(), 1u);
  for (int round = 0; round < 4; ++round) {
    const std::size_t victim = round % 2 == 0 ? 0 : 2;
    s.heal_all();
    s.run_for(ms(1000));
    s.isolate(victim);
    s.run_for(ms(1000));
    EXPECT_EQ(s.lord(), 1u) << "round " << round;
  }
  s.heal_all();
  s.run_for(ms(1000));
  EXPECT_EQ(s.lord(), 1u);
  EXPECT_EQ(s.lord_events().size(), 1u);
}

TEST_F(legion_election_test, ConnectionLostReElectsAtOnce) {
  sim& s = make(three());
  s.run_until(ms(1000));
  ASSERT_EQ(s.lord(), 0u);
  s.crash(0);  // its connections close: the others release their promises
  const nanos crash = s.now();
  s.run_until(ms(2000));
  const auto lords = s.lord_events();
  ASSERT_EQ(lords.size(), 2u);
  EXPECT_EQ(lords[1].member, 1u);
  EXPECT_LT(at_ms(lords[1].at - crash), 20.0);
}

TEST_F(legion_election_test, SilentDeathReElectsAfterALease) {
  sim& s = make(three());
  s.run_until(ms(1000));
  ASSERT_EQ(s.lord(), 0u);
  s.crash(0, false);  // no connection closes (a cut cable, a frozen host)
  const nanos crash = s.now();
  s.run_until(ms(2500));
  const auto lords = s.lord_events();
  ASSERT_EQ(lords.size(), 2u);
  EXPECT_GT(at_ms(lords[1].at - crash), 300.0);
  EXPECT_LT(at_ms(lords[1].at - crash), 700.0);
}

TEST_F(legion_election_test, ShutdownResignsAndAnnouncesDead) {
  sim& s = make(three());
  s.run_until(ms(1000));
  ASSERT_EQ(s.lord(), 0u);
  s.shutdown(0);
  const nanos stop = s.now();
  EXPECT_EQ(s.kinds_of(0).back(), hook_event::unlord);
  s.run_until(ms(1500));
  const auto lords = s.lord_events();
  ASSERT_EQ(lords.size(), 2u);
  EXPECT_LT(at_ms(lords[1].at - stop), 20.0);
  // `dead` makes the others forget the member at once.
  bool left = false;
  for (const sim_event& e : s.events()) {
    if (e.member == 1 && e.ev.kind == hook_event::node_left && e.ev.member == s.address(0)) {
      left = true;
      EXPECT_LT(at_ms(e.at - stop), 20.0);
    }
  }
  EXPECT_TRUE(left);
}

TEST_F(legion_election_test, EpochsOnlyGrowAcrossFailovers) {
  sim& s = make(three());
  std::uint64_t last = 0;
  s.run_until(ms(1000));
  for (int round = 0; round < 6; ++round) {
    const auto lord = s.lord();
    ASSERT_TRUE(lord) << round;
    s.crash(*lord);
    s.run_for(ms(800));
    s.restart(*lord);
    s.run_for(ms(1200));
    for (std::size_t i = 0; i < 3; ++i) EXPECT_GE(s.member(i).epoch(), 1u);
  }
  for (const sim_event& e : s.lord_events()) {
    EXPECT_GT(e.ev.epoch, last);
    last = e.ev.epoch;
  }
  EXPECT_GE(s.lord_events().size(), 7u);
}

TEST_F(legion_election_test, JoinAndNodeEvents) {
  sim& s = make(three());
  s.run_until(ms(500));
  for (std::size_t i = 0; i < 3; ++i) {
    const auto k = s.kinds_of(i);
    EXPECT_EQ(std::count(k.begin(), k.end(), hook_event::join), 1) << i;
    EXPECT_EQ(std::count(k.begin(), k.end(), hook_event::node_joined), 2) << i;
  }
  s.crash(2, false);
  const nanos crash = s.now();
  s.run_until(ms(1500));
  std::vector<std::size_t> left;
  for (const sim_event& e : s.events()) {
    if (e.ev.kind == hook_event::node_left) {
      EXPECT_EQ(e.ev.member, s.address(2)) << e.member << " at " << at_ms(e.at);
      EXPECT_GE(at_ms(e.at - crash), 290.0);  // silent: one lease after its last heartbeat
      left.push_back(e.member);
    }
  }
  EXPECT_EQ(left.size(), 2u);
  s.restart(2);
  s.run_until(ms(2000));
  std::size_t rejoined = 0;
  for (const sim_event& e : s.events()) {
    if (e.at > ms(1500) && e.member != 2 && e.ev.kind == hook_event::node_joined) {
      EXPECT_EQ(e.ev.member, s.address(2));
      ++rejoined;
    }
  }
  EXPECT_EQ(rejoined, 2u);
  const auto k = s.kinds_of(0);
  EXPECT_EQ(std::count(k.begin(), k.end(), hook_event::join), 1);  // once per lifetime
}

TEST_F(legion_election_test, PartialPartitionKeepsTheLord) {
  // 0 and 1 cannot hear each other; 2 hears both. 1 sees itself as the best and keeps asking,
  // 2 keeps refusing (it is promised to 0): the lord stays, whatever epochs 1 tries.
  sim& s = make(three({3, 2, 1}));
  s.run_until(ms(1000));
  ASSERT_EQ(s.lord(), 0u);
  s.cut(0, 1);
  s.run_until(ms(4000));
  EXPECT_EQ(s.lord(), 0u);
  EXPECT_EQ(s.lord_events().size(), 1u);
  s.heal_all();
  s.run_until(ms(5000));
  EXPECT_EQ(s.lord(), 0u);
  EXPECT_EQ(s.lord_events().size(), 1u);
}

TEST_F(legion_election_test, SingleMemberLeadsAlone) {
  sim_options o;
  o.members = 1;
  sim& s = make(o);
  s.run_until(ms(450));
  EXPECT_EQ(s.lord(), 0u);
  s.run_until(ms(5000));
  EXPECT_EQ(s.lord(), 0u);
  EXPECT_EQ(s.lord_events().size(), 1u);
}

TEST_F(legion_election_test, TwoMembersNeedEachOther) {
  sim_options o;
  o.members = 2;  // majority: 2
  sim& s = make(o);
  s.run_until(ms(1000));
  ASSERT_EQ(s.lord(), 0u);
  s.crash(1);
  s.run_until(ms(2000));
  EXPECT_EQ(s.lord(), std::nullopt);
  s.restart(1);
  s.run_until(ms(3000));
  EXPECT_EQ(s.lord(), 0u);
}

TEST_F(legion_election_test, NoLordWithoutQuorum) {
  sim_options o = three();
  o.members = 5;
  sim& s = make(o);
  s.run_until(ms(1000));
  ASSERT_EQ(s.lord(), 0u);
  // Split 2 | 3: the side of the lord (0, 1) is the minority.
  for (std::size_t a : {0u, 1u}) {
    for (std::size_t b : {2u, 3u, 4u}) s.cut(a, b);
  }
  s.run_until(ms(3000));
  EXPECT_EQ(s.lord(), 2u);
  for (const sim_event& e : s.events()) {
    if (e.at > ms(1000) && e.ev.kind == hook_event::lord) {
      EXPECT_GE(e.member, 2u);
    }
  }
}

}  // namespace
}  // namespace brood::legion

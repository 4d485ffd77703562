// The election's rules (election.hpp, docs/architecture.md "Legion"), one scenario at a time:
// simulated members on a network with 1 ms delays and explicit (simulated) times, plus a few
// members driven message by message.
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
    if (s_) EXPECT_EQ(s_->violation(), "");
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
    if (e.member == 0 && e.at > cut) EXPECT_NE(e.ev.kind, hook_event::lord);
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
    if (e.at > ms(1000) && e.ev.kind == hook_event::lord) EXPECT_GE(e.member, 2u);
  }
}

}  // namespace
}  // namespace brood::legion

namespace brood::legion {
namespace {

// One member driven message by message, at explicit times.
class legion_election_unit_test : public ::testing::Test {
 protected:
  const clock::time_point t0 = clock::time_point(std::chrono::hours(100));
  const std::vector<std::string> members = {"a:1", "b:1", "c:1"};

  election make(const std::string& address, std::int64_t valor, const std::string& uuid) {
    identity id{"web", address, uuid, valor, "h", 1, ""};
    election_params p{members, 2, timing{}, 0.05};
    return election(id, p, t0);
  }
  static message msg(message_type t, const std::string& from, const std::string& uuid,
                     std::int64_t valor, std::uint64_t epoch = 0, std::uint64_t ref = 0,
                     bool granted = true) {
    message m;
    m.granted = granted;
    m.type = t;
    m.legion = "web";
    m.from = from;
    m.uuid = uuid;
    m.valor = valor;
    m.epoch = epoch;
    m.ref = ref;
    m.hears = 3;
    return m;
  }
  static std::optional<message> reply(election& e, message_type t) {
    std::optional<message> found;
    for (outgoing& o : e.take_outgoing()) {
      if (o.msg.type == t) found = o.msg;
    }
    return found;
  }
  // Makes `e` (at a:1, the best) lord at t0 + 500 ms with b's grant; returns the request.
  message elect(election& e) {
    const auto t = t0 + ms(500);
    e.receive(msg(message_type::heartbeat, "b:1", "ub", 1), t0 + ms(10));
    e.receive(msg(message_type::heartbeat, "c:1", "uc", 1), t0 + ms(10));
    e.tick(t0 + ms(450));  // warmed up, but b and c were not heard for 440 ms: not eligible
    e.receive(msg(message_type::heartbeat, "b:1", "ub", 1), t);
    e.receive(msg(message_type::heartbeat, "c:1", "uc", 1), t);
    const auto req = reply(e, message_type::lease_request);
    EXPECT_TRUE(req);
    e.receive(msg(message_type::lease_grant, "b:1", "ub", 1, req->epoch, req->ref), t + ms(2));
    return *req;
  }
};

TEST_F(legion_election_unit_test, RestartedVoterGrantsNothingForOneLease) {
  election v = make("b:1", 1, "ub");
  v.receive(msg(message_type::lease_request, "a:1", "ua", 5, 7, 1), t0 + ms(100));
  auto r = reply(v, message_type::lease_grant);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->granted);
  EXPECT_EQ(r->ref, 1u);
  v.receive(msg(message_type::lease_request, "a:1", "ua", 5, 7, 2), t0 + ms(400));
  r = reply(v, message_type::lease_grant);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->granted);
  EXPECT_EQ(r->epoch, 7u);
  EXPECT_EQ(r->ref, 2u);
  // Promised: another candidate gets nothing until the promise expires (a lease later).
  v.receive(msg(message_type::lease_request, "c:1", "uc", 9, 8, 1), t0 + ms(799));
  r = reply(v, message_type::lease_grant);
  EXPECT_FALSE(r->granted);
  EXPECT_EQ(r->epoch, 7u);
  EXPECT_EQ(r->lord_uuid, "ua");
  // A lower or equal epoch is never granted, promise or not.
  v.receive(msg(message_type::lease_request, "c:1", "uc", 9, 7, 2), t0 + ms(801));
  EXPECT_FALSE(reply(v, message_type::lease_grant)->granted);
  v.receive(msg(message_type::lease_request, "c:1", "uc", 9, 8, 3), t0 + ms(802));
  EXPECT_TRUE(reply(v, message_type::lease_grant)->granted);
  EXPECT_EQ(v.epoch(), 8u);
}

TEST_F(legion_election_unit_test, RenewExtendsOnlyTheHeldPromise) {
  election v = make("b:1", 1, "ub");
  v.receive(msg(message_type::lease_request, "a:1", "ua", 5, 3, 1), t0 + ms(500));
  ASSERT_TRUE(reply(v, message_type::lease_grant)->granted);
  v.receive(msg(message_type::renew, "a:1", "ua", 5, 3, 2), t0 + ms(850));
  auto r = reply(v, message_type::renew_ack);
  EXPECT_TRUE(r->granted);
  EXPECT_EQ(r->ref, 2u);
  // Extended to 850 + 400: c is still refused at 1000.
  v.receive(msg(message_type::lease_request, "c:1", "uc", 9, 4, 1), t0 + ms(1000));
  EXPECT_FALSE(reply(v, message_type::lease_grant)->granted);
  // A renew for another epoch is refused.
  v.receive(msg(message_type::renew, "a:1", "ua", 5, 2, 3), t0 + ms(1010));
  EXPECT_FALSE(reply(v, message_type::renew_ack)->granted);
  // Resign releases at once.
  v.receive(msg(message_type::resign, "a:1", "ua", 5, 3), t0 + ms(1020));
  v.receive(msg(message_type::lease_request, "c:1", "uc", 9, 4, 2), t0 + ms(1030));
  EXPECT_TRUE(reply(v, message_type::lease_grant)->granted);
  // The old lord's late renew gets nothing now.
  v.receive(msg(message_type::renew, "a:1", "ua", 5, 3, 4), t0 + ms(1040));
  EXPECT_FALSE(reply(v, message_type::renew_ack)->granted);
}

TEST_F(legion_election_unit_test, LeaseEndsBeforeAnyPromiseAndRenewAcksExtendIt) {
  election a = make("a:1", 5, "ua");
  const message req = elect(a);
  const auto sent = t0 + ms(500);
  ASSERT_TRUE(a.is_lord(sent + ms(2)));
  auto ev = a.take_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().kind, hook_event::lord);
  EXPECT_EQ(ev.back().epoch, req.epoch);
  // The lease: 400 ms * 0.95 after the request was sent, so 380 ms; never past it.
  EXPECT_FALSE(a.is_lord(sent + ms(380)));
  // The renew sent at once on election, acked by c: the lease runs from that renew.
  const auto renew = reply(a, message_type::renew);
  ASSERT_TRUE(renew);
  a.receive(msg(message_type::renew_ack, "c:1", "uc", 1, req.epoch, renew->ref), sent + ms(4));
  // A stale ack (an older ref) or one for another epoch counts for nothing.
  a.receive(msg(message_type::renew_ack, "b:1", "ub", 1, req.epoch, renew->ref - 1), sent + ms(5));
  a.receive(msg(message_type::renew_ack, "b:1", "ub", 1, req.epoch, renew->ref, false),
            sent + ms(5));
  // No more acks: it steps down a heartbeat before the lease ends (2 + 380 - 100).
  a.tick(sent + ms(150));
  EXPECT_TRUE(a.is_lord(sent + ms(150)));
  a.take_events();
  a.tick(sent + ms(283));
  EXPECT_FALSE(a.is_lord(sent + ms(283)));
  ev = a.take_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().kind, hook_event::unlord);
  EXPECT_EQ(ev.back().epoch, req.epoch);
  const auto resign = reply(a, message_type::resign);
  ASSERT_TRUE(resign);
  EXPECT_EQ(resign->epoch, req.epoch);
}

TEST_F(legion_election_unit_test, HigherEpochMakesTheLordStepDown) {
  election a = make("a:1", 5, "ua");
  const message req = elect(a);
  ASSERT_TRUE(a.is_lord(t0 + ms(510)));
  a.take_events();
  a.receive(msg(message_type::heartbeat, "c:1", "uc", 1, req.epoch + 1), t0 + ms(510));
  EXPECT_FALSE(a.is_lord(t0 + ms(510)));
  const auto ev = a.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, hook_event::unlord);
  EXPECT_GE(a.epoch(), req.epoch + 1);
}

TEST_F(legion_election_unit_test, NextDeadlineNeverInThePast) {
  election a = make("a:1", 5, "ua");
  auto now = t0;
  for (int i = 0; i < 50; ++i) {
    a.tick(now);
    const auto next = a.next_deadline();
    ASSERT_GT(next, now);
    ASSERT_LE(next, now + ms(100));
    now = next;
  }
}

}  // namespace
}  // namespace brood::legion

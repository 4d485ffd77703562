// The election's rules (election.hpp, docs/architecture.md §6) on one member driven message by
// message at explicit times: promises, grants, renewals, the lease's end, stepping down.
#include "brood/legion/election.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace brood::legion {
namespace {

using ms = std::chrono::milliseconds;

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

TEST_F(legion_election_unit_test, FreeVoterTakesARenewAsARequest) {
  election v = make("b:1", 1, "ub");
  v.receive(msg(message_type::renew, "a:1", "ua", 5, 3, 1), t0 + ms(100));
  EXPECT_FALSE(reply(v, message_type::renew_ack)->granted);  // not before a lease
  v.receive(msg(message_type::renew, "a:1", "ua", 5, 3, 2), t0 + ms(400));
  EXPECT_TRUE(reply(v, message_type::renew_ack)->granted);
  EXPECT_EQ(v.view(t0 + ms(400)).lord_uuid, "ua");
  v.receive(msg(message_type::lease_request, "c:1", "uc", 9, 4, 1), t0 + ms(700));
  EXPECT_FALSE(reply(v, message_type::lease_grant)->granted);  // promised to a until 800
  // A renew of an epoch it already granted (to someone else) is not taken.
  election w = make("c:1", 1, "uc");
  w.receive(msg(message_type::lease_request, "b:1", "ub", 5, 6, 1), t0 + ms(400));
  ASSERT_TRUE(reply(w, message_type::lease_grant)->granted);
  w.receive(msg(message_type::renew, "a:1", "ua", 5, 6, 1), t0 + ms(900));
  EXPECT_FALSE(reply(w, message_type::renew_ack)->granted);
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
  // The view tells workers when the lease ends (their i_am_the_lord turns false past it).
  const auto until = a.view(sent + ms(150)).lord_until;
  EXPECT_GT(until, sent + ms(380)) << "extended by the acked renew";
  EXPECT_LE(until, sent + ms(4) + ms(380));
  // No more acks: it steps down a heartbeat before the lease ends (2 + 380 - 100).
  a.tick(sent + ms(150));
  EXPECT_TRUE(a.is_lord(sent + ms(150)));
  a.take_events();
  a.tick(sent + ms(283));
  EXPECT_FALSE(a.is_lord(sent + ms(283)));
  EXPECT_EQ(a.view(sent + ms(283)).lord_until, clock::time_point{});
  ev = a.take_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().kind, hook_event::unlord);
  EXPECT_EQ(ev.back().epoch, req.epoch);
  const auto resign = reply(a, message_type::resign);
  ASSERT_TRUE(resign);
  EXPECT_EQ(resign->epoch, req.epoch);
}

TEST_F(legion_election_unit_test, OnlyAHigherRenewedEpochMakesTheLordStepDown) {
  election a = make("a:1", 5, "ua");
  const message req = elect(a);
  ASSERT_TRUE(a.is_lord(t0 + ms(510)));
  a.take_events();
  // A higher epoch only seen (a candidacy that failed) changes nothing.
  a.receive(msg(message_type::heartbeat, "c:1", "uc", 1, req.epoch + 5), t0 + ms(505));
  EXPECT_TRUE(a.is_lord(t0 + ms(505)));
  EXPECT_TRUE(a.take_events().empty());
  // Another member renewing a higher epoch does.
  a.receive(msg(message_type::renew, "c:1", "uc", 1, req.epoch + 1, 1), t0 + ms(510));
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

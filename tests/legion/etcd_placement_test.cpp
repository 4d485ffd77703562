// The placement over etcd (docs/architecture.md §6.4 "over etcd"): three members electing through
// a real etcd, each owner running what its actions say; the vassals spread, one copy each, the
// lord's table reaches every member and the table key; a lost member's vassals move to the others;
// a lord change restarts nothing. The messages' carrier (placement_mail, etcd_placement.hpp):
// a deposed lord's write is refused by etcd and never reaches a member; a forged message (another
// secret) is dropped; what a former process of an address was sent is not delivered.
#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "brood/legion/member.hpp"
#include "brood/legion/placement_runner.hpp"
#include "etcd_placement.hpp"
#include "etcd_server.hpp"
#include "eventually.hpp"
#include "legion_fixture.hpp"

namespace brood::legion {
namespace {

using namespace std::chrono_literals;
using brood::testing::etcd_server;

struct owner {
  std::unique_ptr<placement_runner> runner;
  std::unique_ptr<members> m;
  std::set<std::string> running;

  void serve() {
    for (const placement_action& a : runner->take_actions()) {
      if (a.what == placement_action::kind::start) {
        running.insert(a.vassal);
        runner->local_state(a.vassal, vassal_state::running);
      } else {
        running.erase(a.vassal);
        runner->local_state(a.vassal, vassal_state::stopped);
      }
    }
  }
};

class etcd_placement_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_server::available()) GTEST_SKIP() << "no " << etcd_server::binary;
    ASSERT_TRUE(etcd_.start()) << etcd_.output();
    for (int i = 0; i < 3; ++i) ports_.push_back(testing::free_port());
  }
  void TearDown() override { owners_.clear(); }

  config member(std::size_t i) {
    config c = testing::member_config("web", ports_, i, static_cast<std::int64_t>(10 + i));
    c.legions[0].etcd_endpoints = etcd_.endpoint();
    c.times.heartbeat = 100ms;
    c.times.lease = 1000ms;
    c.times.vassal_lease = 2000ms;
    return c;
  }

  void start(std::size_t i) {
    const config c = member(i);
    auto& o = owners_[i];
    std::string error;
    o.runner = placement_runner::open("web", 0, c.times.vassal_lease, error);
    ASSERT_TRUE(o.runner) << error;
    o.m = members::start(c, {}, nullptr, error, {o.runner.get()});
    ASSERT_TRUE(o.m) << error;
    o.runner->set_catalog(catalog());
    o.running.clear();
  }

  static std::vector<vassal_spec> catalog() {
    std::vector<vassal_spec> c;
    for (int i = 0; i < 6; ++i) c.push_back({"v" + std::to_string(i) + ".ini", 1});
    return c;
  }

  // Serves every live owner until `done` holds (bounded: only a failure waits that long).
  template <class F>
  bool serve_until(F done, std::chrono::milliseconds limit = 40s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      std::vector<pollfd> fds;
      for (auto& [i, o] : owners_)
        if (o.m) fds.push_back({o.runner->actions_fd(), POLLIN, 0});
      ::poll(fds.data(), fds.size(), 20);
      for (auto& [i, o] : owners_)
        if (o.m) o.serve();
      if (done()) return true;
    }
    return false;
  }

  bool spread(std::size_t live, std::size_t each) {
    std::map<std::string, int> n;
    std::size_t counted = 0;
    for (auto& [i, o] : owners_) {
      if (!o.m) continue;
      ++counted;
      if (o.running.size() != each) return false;
      for (const std::string& v : o.running) ++n[v];
    }
    if (counted != live || n.size() != 6) return false;
    for (auto& [v, k] : n)
      if (k != 1) return false;
    return true;
  }

  std::string address(std::size_t i) const { return "127.0.0.1:" + std::to_string(ports_[i]); }

  etcd_server etcd_;
  std::vector<std::uint16_t> ports_;
  std::map<std::size_t, owner> owners_;
};

TEST_F(etcd_placement_test, SpreadsTheCatalogAndEveryMemberHoldsTheTable) {
  for (std::size_t i = 0; i < 3; ++i) start(i);
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
  ASSERT_TRUE(serve_until([&] {
    for (auto& [i, o] : owners_)
      if (o.runner->view().table.placed.size() != 6 || o.runner->view().fenced) return false;
    return true;
  }));
  const placement_view v = owners_[2].runner->view();
  EXPECT_EQ(v.lord, address(2));  // the highest valor
  EXPECT_EQ(v.running.size(), 2u);
  for (auto& [i, o] : owners_) EXPECT_EQ(o.runner->view().lord, address(2)) << i;

  // The lord's table key holds the same table.
  etcd::client cl({etcd::url{"127.0.0.1", etcd_.endpoint().substr(etcd_.endpoint().rfind(':') + 1),
                             etcd_.endpoint()}});
  etcd::kv kv(cl, 2000ms);
  ASSERT_TRUE(serve_until([&] {
    std::vector<etcd::key_value> kvs;
    if (!kv.range_prefix(etcd::placement_mail::prefix("web") + "table", kvs).ok || kvs.empty())
      return false;
    const nlohmann::json j = nlohmann::json::parse(kvs[0].value, nullptr, false);
    return j.is_object() && j["table"].size() == 6 && j["lord"] == address(2) &&
           j["version"] == owners_[2].runner->view().table.version;
  }));
}

TEST_F(etcd_placement_test, ALostMembersVassalsMoveToTheOthersAndComeBack) {
  for (std::size_t i = 0; i < 3; ++i) start(i);
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
  owners_[0].m.reset();  // member 0 leaves (its vassals are gone with it)
  owners_[0].running.clear();
  ASSERT_TRUE(serve_until([&] { return spread(2, 3); }));
  start(0);  // it comes back empty and is filled again
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
}

TEST_F(etcd_placement_test, ALordChangeRestartsNothing) {
  for (std::size_t i = 0; i < 3; ++i) start(i);
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
  const std::set<std::string> kept0 = owners_[0].running, kept1 = owners_[1].running;
  owners_[2].m.reset();  // the lord leaves
  owners_[2].running.clear();
  ASSERT_TRUE(serve_until([&] { return spread(2, 3); }));
  for (const std::string& v : kept0) EXPECT_TRUE(owners_[0].running.count(v)) << v;
  for (const std::string& v : kept1) EXPECT_TRUE(owners_[1].running.count(v)) << v;
  EXPECT_EQ(owners_[1].runner->view().lord, address(1));
}

// etcd stops answering (frozen: connections are accepted, nothing is answered): no ack reaches a
// member, and each kills its vassals when its lease ends, whatever etcd call its thread waits on.
// The lease (legion-vassal-lease 2000 ms: 2000 x 0.95 - 500 ms of kill grace) counts from a
// report sent before the freeze; the lord's, from its last report before it stepped down (it
// acknowledges its own reports while it is lord: until its etcd lease, whose TTL etcd may make
// longer than asked, can have ended). Before every etcd call was limited to end by the fence, a
// member's thread waited out each call's timeout (300 ms) and fenced up to a round of calls late.
TEST_F(etcd_placement_test, AMemberCutFromEtcdFencesWhenItsLeaseEnds) {
  for (std::size_t i = 0; i < 3; ++i) start(i);
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
  std::size_t lord = 3;
  for (std::size_t i = 0; i < 3; ++i)
    if (owners_[i].runner->view().lord == address(i)) lord = i;
  ASSERT_LT(lord, 3u);
  const auto frozen = std::chrono::steady_clock::now();
  ASSERT_TRUE(etcd_.freeze());
  std::map<std::size_t, std::chrono::steady_clock::time_point> fenced;
  std::chrono::steady_clock::time_point unlorded = frozen;
  bool lording = true;
  const bool all = serve_until(
      [&] {
        const auto now = std::chrono::steady_clock::now();
        if (lording && owners_[lord].runner->view().lord != address(lord))
          lording = false, unlorded = now;
        for (auto& [i, o] : owners_)
          if (o.running.empty() && !fenced.count(i)) fenced[i] = now;
        return fenced.size() == 3;
      },
      10s);
  ASSERT_TRUE(etcd_.thaw());
  ASSERT_TRUE(all);
  for (const auto& [i, t] : fenced) {
    const auto from = i == lord ? unlorded : frozen;
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(t - from);
    EXPECT_LE(after.count(), 1400 + 200)
        << "member " << i << " fenced " << after.count() << " ms after "
        << (i == lord ? "it stepped down" : "etcd froze") << " (its lease: 1400 ms at most)";
  }
  // etcd answers again: the vassals are placed again, once each.
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
}

// placement_mail alone, two members of legion "web" on one etcd.
class etcd_placement_mail_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_server::available()) GTEST_SKIP() << "no " << etcd_server::binary;
    ASSERT_TRUE(etcd_.start()) << etcd_.output();
    const std::string ep = etcd_.endpoint();
    cl_ = std::make_unique<etcd::client>(
        std::vector<etcd::url>{{"127.0.0.1", ep.substr(ep.rfind(':') + 1), ep}});
    kv_ = std::make_unique<etcd::kv>(*cl_, 2000ms);
    std::int64_t granted = 0;
    ASSERT_TRUE(kv_->grant(30, lease_, granted).ok);
  }

  identity who(const std::string& address) {
    identity id;
    id.legion = "web";
    id.address = address;
    id.uuid = random_uuid();
    id.valor = 1;
    return id;
  }

  static placement_outgoing ack(const std::string& from, const std::string& to,
                                std::uint64_t epoch) {
    placement_outgoing o;
    o.to = to;
    o.msg.kind = placement_kind::ack;
    o.msg.from = from;
    o.msg.epoch = epoch;
    o.msg.ref = 7;
    o.msg.assigned = {"v1.ini"};
    return o;
  }

  etcd_server etcd_;
  std::unique_ptr<etcd::client> cl_;
  std::unique_ptr<etcd::kv> kv_;
  std::int64_t lease_ = 0;
  const key key_ = derive_key("web", "s3cr3t");
};

TEST_F(etcd_placement_mail_test, ADeposedLordsWriteIsRefused) {
  etcd::placement_mail lord(*cl_, "web", who("127.0.0.1:1"), key_, 60000ms);
  etcd::placement_mail member(*cl_, "web", who("127.0.0.1:2"), key_, 60000ms);
  std::vector<placement_message> got;
  std::string why;
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;  // the first read empties the inbox
  // The lord's candidacy on a lease of its own; its messages on lease_.
  std::int64_t term = 0, granted = 0;
  ASSERT_TRUE(kv_->grant(30, term, granted).ok);
  etcd::key_value candidacy;
  ASSERT_TRUE(kv_->create("brood/legion/web/lord/1", "x", term, candidacy).ok);
  ASSERT_TRUE(lord.send({ack("127.0.0.1:1", "127.0.0.1:2", 5)}, lease_, candidacy, 2000ms, why))
      << why;
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, placement_kind::ack);
  EXPECT_EQ(got[0].from, "127.0.0.1:1");
  EXPECT_EQ(got[0].ref, 7u);
  EXPECT_EQ(got[0].assigned, std::vector<std::string>{"v1.ini"});
  got.clear();
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;  // read once, then deleted
  EXPECT_TRUE(got.empty());

  // Its lease ends in etcd (the candidacy goes with it): deposed, its writes are refused.
  ASSERT_TRUE(kv_->revoke(term).ok);
  EXPECT_FALSE(lord.send({ack("127.0.0.1:1", "127.0.0.1:2", 5)}, lease_, candidacy, 2000ms, why));
  EXPECT_EQ(why, "etcd refused the lord's write: its candidacy is gone (deposed)");
  EXPECT_FALSE(lord.write_table("{}", 5, 1, candidacy, 2000ms, why));
  // Another candidacy under the same key (a later term): the old one's guard still fails.
  ASSERT_TRUE(kv_->grant(30, term, granted).ok);
  etcd::key_value later;
  ASSERT_TRUE(kv_->create("brood/legion/web/lord/1", "y", term, later).ok);
  ASSERT_GT(later.create_revision, candidacy.create_revision);
  EXPECT_FALSE(lord.send({ack("127.0.0.1:1", "127.0.0.1:2", 5)}, lease_, candidacy, 2000ms, why));
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;
  EXPECT_TRUE(got.empty()) << "a deposed lord's order reached a member";
  // The new term's writes go through.
  EXPECT_TRUE(lord.send({ack("127.0.0.1:1", "127.0.0.1:2", 9)}, lease_, later, 2000ms, why)) << why;
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].epoch, 9u);
  // What the member read goes with its next write (here: a message to the lord).
  ASSERT_TRUE(member.send({ack("127.0.0.1:2", "127.0.0.1:1", 9)}, lease_, {}, 2000ms, why)) << why;
  std::vector<etcd::key_value> left;
  ASSERT_TRUE(kv_->range_prefix("brood/legion/web/placement/inbox/127.0.0.1:2/", left).ok);
  EXPECT_TRUE(left.empty()) << left.size() << " messages left in the inbox";
  ASSERT_TRUE(kv_->range_prefix("brood/legion/web/placement/inbox/127.0.0.1:1/", left).ok);
  EXPECT_EQ(left.size(), 1u);
}

TEST_F(etcd_placement_mail_test, DropsForgeriesAndWhatAFormerProcessWasSent) {
  etcd::placement_mail sender(*cl_, "web", who("127.0.0.1:1"), key_, 60000ms);
  etcd::placement_mail forger(*cl_, "web", who("127.0.0.1:3"), derive_key("web", "guess"), 60000ms);
  std::string why;
  // Sent before the member's process started: never delivered to it.
  ASSERT_TRUE(sender.send({ack("127.0.0.1:1", "127.0.0.1:2", 3)}, lease_, {}, 2000ms, why)) << why;
  etcd::placement_mail member(*cl_, "web", who("127.0.0.1:2"), key_, 60000ms);
  std::vector<placement_message> got;
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;
  EXPECT_TRUE(got.empty());
  // Another secret: dropped. A member without a lease sends nothing.
  ASSERT_TRUE(forger.send({ack("127.0.0.1:3", "127.0.0.1:2", 3)}, lease_, {}, 2000ms, why)) << why;
  EXPECT_FALSE(sender.send({ack("127.0.0.1:1", "127.0.0.1:2", 3)}, 0, {}, 2000ms, why));
  EXPECT_EQ(why, "no lease in etcd");
  ASSERT_TRUE(
      sender.send({ack("127.0.0.1:1", "127.0.0.1:2", 4), ack("127.0.0.1:1", "127.0.0.1:2", 5)},
                  lease_, {}, 2000ms, why))
      << why;
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;
  ASSERT_EQ(got.size(), 2u);  // in the order sent
  EXPECT_EQ(got[0].epoch, 4u);
  EXPECT_EQ(got[1].epoch, 5u);
  // A sender's lease ends: its messages not yet read vanish with it.
  ASSERT_TRUE(sender.send({ack("127.0.0.1:1", "127.0.0.1:2", 6)}, lease_, {}, 2000ms, why)) << why;
  ASSERT_TRUE(kv_->revoke(lease_).ok);
  got.clear();
  ASSERT_TRUE(member.receive(got, 2000ms, why)) << why;
  EXPECT_TRUE(got.empty());
}

}  // namespace
}  // namespace brood::legion

// The placement run on the legions' threads (placement_runner.hpp over the ZeroMQ backend): three
// members on loopback, each owner running what its actions say; the vassals spread, one copy each;
// the lord's table reaches every member; a lost member's vassals move to the others.
#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "brood/legion/member.hpp"
#include "brood/legion/placement_runner.hpp"
#include "legion_fixture.hpp"

namespace brood::legion {
namespace {

using namespace std::chrono_literals;

struct owner {
  std::unique_ptr<placement_runner> runner;
  std::unique_ptr<members> m;
  std::set<std::string> running;

  // Runs the pending actions as a perfect emperor would.
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

class placement_runner_test : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) ports_.push_back(testing::free_port());
    for (std::size_t i = 0; i < 3; ++i) start(i);
  }

  void start(std::size_t i) {
    config c = testing::member_config("web", ports_, i, static_cast<std::int64_t>(10 + i));
    c.times.heartbeat = 50ms;
    c.times.lease = 300ms;
    c.times.vassal_lease = 1000ms;
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

  // Serves every live owner until `done` holds (bounded).
  template <class F>
  bool serve_until(F done, std::chrono::milliseconds limit = 15s) {
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

  std::map<std::string, int> copies() {
    std::map<std::string, int> n;
    for (auto& [i, o] : owners_)
      if (o.m)
        for (const std::string& v : o.running) ++n[v];
    return n;
  }

  bool spread(std::size_t live, std::size_t each) {
    std::map<std::string, int> n = copies();
    if (n.size() != 6) return false;
    for (auto& [v, k] : n)
      if (k != 1) return false;
    std::size_t counted = 0;
    for (auto& [i, o] : owners_) {
      if (!o.m) continue;
      ++counted;
      if (o.running.size() != each) return false;
    }
    return counted == live;
  }

  std::vector<std::uint16_t> ports_;
  std::map<std::size_t, owner> owners_;
};

TEST_F(placement_runner_test, SpreadsTheCatalogAndEveryMemberHoldsTheTable) {
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
  ASSERT_TRUE(serve_until([&] {
    for (auto& [i, o] : owners_)
      if (o.runner->view().table.placed.size() != 6 || o.runner->view().fenced) return false;
    return true;
  }));
  const placement_view v = owners_[2].runner->view();
  EXPECT_EQ(v.lord, "127.0.0.1:" + std::to_string(ports_[2]));  // the highest valor
  EXPECT_EQ(v.running.size(), 2u);
}

TEST_F(placement_runner_test, ALostMembersVassalsMoveToTheOthers) {
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
  owners_[0].m.reset();  // member 0 leaves (its vassals are gone with it)
  owners_[0].running.clear();
  ASSERT_TRUE(serve_until([&] { return spread(2, 3); }));
}

TEST_F(placement_runner_test, ALordChangeRestartsNothing) {
  ASSERT_TRUE(serve_until([&] { return spread(3, 2); }));
  const std::set<std::string> kept0 = owners_[0].running, kept1 = owners_[1].running;
  owners_[2].m.reset();  // the lord leaves
  owners_[2].running.clear();
  ASSERT_TRUE(serve_until([&] { return spread(2, 3); }));
  for (const std::string& v : kept0) EXPECT_TRUE(owners_[0].running.count(v)) << v;
  for (const std::string& v : kept1) EXPECT_TRUE(owners_[1].running.count(v)) << v;
}

TEST(placement_runner_config, RefusesAnUnknownLegion) {
  config c = testing::member_config("web", {testing::free_port()}, 0, 1);
  std::string error;
  auto r = placement_runner::open("db", 0, 3000ms, error);
  ASSERT_TRUE(r);
  EXPECT_FALSE(members::start(c, {}, nullptr, error, {r.get()}));
  EXPECT_EQ(
      error,
      "emperor = legion:db,DIR: no legion 'db' is declared (legion = NAME ADDR VALOR SECRET)");
}

}  // namespace
}  // namespace brood::legion

// emperor = legion:NAME,DIR with legion-etcd (docs/legion.md "Placement over etcd"): three
// emperors on loopback, members of one legion electing through a real etcd, share one directory
// of 12 brood vassals. They run 4/4/4, one copy each, and the table is in etcd; a member SIGKILLed
// takes its vassals with it (PDEATHSIG) and the other two run them once its lease is over; it
// comes back and the spread returns to 4/4/4; the lord SIGKILLed restarts none of the others'
// vassals; a member that cannot start a vassal leaves it to the others; a deposed lord's write is
// refused by etcd (the deposed lord is a process stopped with SIGSTOP until its etcd lease ended).
#include "etcd_server.hpp"
#include "legion_placement_fixture.hpp"

namespace brood::testing {
namespace {

class legion_placement_etcd_test : public legion_placement_fixture {
 protected:
  legion_placement_etcd_test() : legion_placement_fixture("brood_placement_etcd_") {}

  void SetUp() override {
    if (!etcd_server::available()) GTEST_SKIP() << "no " << etcd_server::binary;
    ASSERT_TRUE(etcd_.start()) << etcd_.output();
    legion_placement_fixture::SetUp();
  }
  void stop_servers() override { etcd_.stop(); }
  std::vector<std::string> backend_args() const override {
    // The default vassal lease: etcd (fsync) is in every report's path.
    return {"--legion-vassal-lease", "3000", "--legion-etcd", etcd_.endpoint()};
  }

  etcd_server etcd_;
};

constexpr auto slack = 40s;

TEST_F(legion_placement_etcd_test, SpreadsLosesAMemberGetsItBackAndSurvivesTheLord) {
  write_vassals(12);
  for (int i = 0; i < 3; ++i) start(i);
  ASSERT_TRUE(eventually([&] { return spread({{0, 4}, {1, 4}, {2, 4}}, 12); }, slack)) << outputs();
  nlohmann::json p = stats(1)["legion_placement"];
  EXPECT_EQ(p["legion"], "web");
  EXPECT_EQ(p["lord"], legion_[2]);  // the highest valor
  EXPECT_EQ(p["table"].size(), 12u) << p.dump();
  {  // `brood legion ADDR --vassals` prints the table a member holds, one line per vassal
    node_process q(BROOD_BINARY,
                   {"legion", legion_[1], "--legion", "web", "--secret", "s3cr3t", "--vassals"});
    const auto status = q.wait_exit(10s);
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << q.all_output();
    // Its output is read by another thread: the lines may come after the exit.
    EXPECT_TRUE(eventually(
        [&] { return q.count_lines(std::regex(R"(^  v[0-9]+\.ini: 127\.0\.0\.1:[0-9]+$)")) == 12; },
        10s))
        << q.all_output();
    EXPECT_TRUE(eventually(
        [&] {
          return q.count_lines(std::regex("^placement of legion web at " + legion_[1] + ": lord " +
                                          legion_[2] + ", epoch [0-9]+, version [0-9]+$")) == 1;
        },
        10s))
        << q.all_output();
  }

  // The lord's table key in etcd holds the same table.
  if (fs::exists("/usr/bin/etcdctl")) {
    ASSERT_TRUE(eventually(
        [&] {
          node_process q("/usr/bin/etcdctl",
                         {"--endpoints=" + etcd_.endpoint(), "get", "--print-value-only",
                          "brood/legion/web/placement/table"});
          const auto status = q.wait_exit(10s);
          if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) return false;
          // Its output is read by another thread: the line may come after the exit.
          return eventually(
              [&] {
                const nlohmann::json t = nlohmann::json::parse(q.all_output(), nullptr, false);
                return t.is_object() && t["table"].size() == 12 && t["lord"] == legion_[2];
              },
              2s);
        },
        slack))
        << outputs();
  }

  // A member (not the lord) is SIGKILLed: its vassals die with it and run on the other two.
  kill_emperor(0);
  ASSERT_TRUE(eventually([&] { return spread({{1, 6}, {2, 6}}, 12); }, slack)) << outputs();

  // It comes back: the spread returns to 4/4/4.
  start(0);
  ASSERT_TRUE(eventually([&] { return spread({{0, 4}, {1, 4}, {2, 4}}, 12); }, slack)) << outputs();

  // The lord is SIGKILLed: only its 4 vassals start elsewhere, the others keep their pids.
  const auto kept0 = ready(0), kept1 = ready(1);
  kill_emperor(2);
  ASSERT_TRUE(eventually([&] { return spread({{0, 6}, {1, 6}}, 12); }, slack)) << outputs();
  const auto now0 = ready(0), now1 = ready(1);
  for (auto& [name, pid] : kept0) EXPECT_EQ(now0.count(name) ? now0.at(name) : -1, pid) << name;
  for (auto& [name, pid] : kept1) EXPECT_EQ(now1.count(name) ? now1.at(name) : -1, pid) << name;
}

TEST_F(legion_placement_etcd_test, AFailedStartMovesToTheNextMember) {
  write_vassals(6);
  // Emperor 0's vassals get a socket they cannot bind: every start there fails.
  start(0, {"--vassal-set", "socket=192.0.2.1:1"});
  start(1);
  start(2);
  // Emperor 0 was given vassals, they died there (throttled), and the others run them all.
  ASSERT_TRUE(emperors_[0]->wait_for_line(std::regex(R"(vassal v[0-9]\.ini: .*throttled)"), slack))
      << outputs();
  // Settled: each vassal on member 1 or 2 alone in the lord's table (no move in progress).
  nlohmann::json p;
  ASSERT_TRUE(eventually(
      [&] {
        if (!spread({{0, 0}, {1, 3}, {2, 3}}, 6)) return false;
        p = stats(2)["legion_placement"];
        if (!p.is_object() || p["table"].size() != 6 || !p["leaving"].empty()) return false;
        for (auto& [name, members] : p["table"].items())
          if (members != nlohmann::json::array({legion_[1]}) &&
              members != nlohmann::json::array({legion_[2]}))
            return false;
        return true;
      },
      slack))
      << p.dump() << outputs();
}

// The lord frozen (SIGSTOP) past its etcd lease: etcd deposes it and another member leads a new
// term. Resumed, it finds its lease gone and steps down before writing anything as lord (a write
// with its old candidacy would be refused by etcd: tests/legion/etcd_placement_test.cpp), its
// placement lease is over so it kills its vassals, and it rejoins: one term's table everywhere
// and 4/4/4 again.
TEST_F(legion_placement_etcd_test, AFrozenLordIsDeposedAndRejoins) {
  write_vassals(12);
  for (int i = 0; i < 3; ++i) start(i);
  ASSERT_TRUE(eventually([&] { return spread({{0, 4}, {1, 4}, {2, 4}}, 12); }, slack)) << outputs();
  const std::uint64_t frozen_epoch = stats(2)["legion_placement"].value("epoch", 0ULL);
  ASSERT_GT(frozen_epoch, 0u);
  ASSERT_EQ(::kill(emperors_[2]->pid(), SIGSTOP), 0);
  const bool deposed = eventually(
      [&] {
        const nlohmann::json p = stats(1)["legion_placement"];
        return p.is_object() && p["lord"] == legion_[1] && p.value("epoch", 0ULL) > frozen_epoch;
      },
      slack);
  ASSERT_EQ(::kill(emperors_[2]->pid(), SIGCONT), 0);
  ASSERT_TRUE(deposed) << outputs();
  ASSERT_TRUE(emperors_[2]->wait_for_line(std::regex("legion 'web': no longer lord"), slack))
      << outputs();
  // One term everywhere, and the spread is back.
  ASSERT_TRUE(eventually(
      [&] {
        if (!spread({{0, 4}, {1, 4}, {2, 4}}, 12)) return false;
        std::set<std::string> terms;
        for (int i = 0; i < 3; ++i) {
          const nlohmann::json p = stats(i)["legion_placement"];
          if (!p.is_object() || p.value("epoch", 0ULL) <= frozen_epoch || p["fenced"] != false)
            return false;
          terms.insert(p["lord"].get<std::string>() + " " + std::to_string(p.value("epoch", 0ULL)));
        }
        return terms.size() == 1;
      },
      slack))
      << outputs();
}

}  // namespace
}  // namespace brood::testing

// emperor = legion:NAME,DIR (docs/legion.md "Placement"): three emperors on loopback, members of
// one legion, share one directory of 12 brood vassals. They run 4/4/4, one copy each; a member
// SIGKILLed takes its vassals with it (PDEATHSIG) and the other two run them; it comes back and
// the spread returns to 4/4/4; the lord SIGKILLed restarts none of the others' vassals; a member
// that cannot start a vassal leaves it to the others; copies run on distinct members and a
// member's capacity is a maximum; an SOS of a placed vassal starts its zerg on
// another member (broodlord across the legion), which retires on idle and is not started again.
#include <fcntl.h>
#include <unistd.h>

#include "legion_placement_fixture.hpp"

namespace brood::testing {
namespace {

class legion_placement_test : public legion_placement_fixture {
 protected:
  legion_placement_test() : legion_placement_fixture("brood_placement_") {}
};

constexpr auto slack = 40s;

TEST_F(legion_placement_test, SpreadsLosesAMemberGetsItBackAndSurvivesTheLord) {
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
    EXPECT_TRUE(q.wait_eof());  // its output is read by another thread: all of it
    EXPECT_EQ(q.count_lines(std::regex(R"(^  v[0-9]+\.ini: 127\.0\.0\.1:[0-9]+$)")), 12u)
        << q.all_output();
    EXPECT_EQ(q.count_lines(std::regex("^placement of legion web at " + legion_[1] + ": lord " +
                                       legion_[2] + ", epoch [0-9]+, version [0-9]+$")),
              1u)
        << q.all_output();
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

TEST_F(legion_placement_test, AFailedStartMovesToTheNextMember) {
  write_vassals(6);
  // Emperor 0's vassals get a socket they cannot bind: every start there fails.
  start(0, {"--vassal-set", "socket=192.0.2.1:1"});
  start(1);
  start(2);
  // Emperor 0 was given vassals, they died there (throttled), and the others run them all.
  ASSERT_TRUE(emperors_[0]->wait_for_line(std::regex(R"(vassal v[0-9]\.ini: .*throttled)"), slack))
      << outputs();
  ASSERT_TRUE(eventually([&] { return spread({{0, 0}, {1, 3}, {2, 3}}, 6); }, slack)) << outputs();
  // The table says so once no move is under way: balancing may still try a vassal on emperor 0
  // that has not failed there yet (a hand-over, `leaving`), which fails and stays on the others.
  nlohmann::json p;
  EXPECT_TRUE(eventually(
      [&] {
        p = stats(2)["legion_placement"];
        if (!p.is_object() || !p["table"].is_object() || p["table"].size() != 6u ||
            !p["leaving"].empty())
          return false;
        for (auto& [name, members] : p["table"].items())
          if (members != nlohmann::json::array({legion_[1]}) &&
              members != nlohmann::json::array({legion_[2]}))
            return false;
        return true;
      },
      slack))
      << p.dump() << "\n"
      << outputs();
}

TEST_F(legion_placement_test, ReplicasRunOnDistinctMembersAndCapacityIsAMaximum) {
  write_vassals(5);
  std::ofstream(vassals() / "r.ini")
      << "[uwsgi]\nsocket = 127.0.0.1:0\nprocesses = 1\nlegion-replicas = 3\n";
  start(0, {"--legion-max-vassals", "2"});
  start(1);
  start(2);
  // 8 copies: r.ini on each member (3 distinct processes), emperor 0 at its capacity of 2, the
  // five others on emperors 1 and 2, one copy each.
  auto placed = [&] {
    std::map<std::string, int> copies;
    std::set<long long> pids;
    for (int i = 0; i < 3; ++i) {
      const auto r = ready(i);
      if (!r.count("r.ini")) return false;
      if (i == 0 && r.size() != 2) return false;
      for (auto& [name, pid] : r) {
        ++copies[name];
        pids.insert(pid);
      }
    }
    if (copies.size() != 6 || copies["r.ini"] != 3 || pids.size() != 8) return false;
    for (auto& [name, k] : copies)
      if (name != "r.ini" && k != 1) return false;
    return true;
  };
  ASSERT_TRUE(eventually(placed, slack)) << outputs();
  const nlohmann::json p = stats(1)["legion_placement"];
  EXPECT_EQ(p["table"]["r.ini"].size(), 3u) << p.dump();
  EXPECT_EQ(p["catalog"]["r.ini"], 3) << p.dump();
}

TEST_F(legion_placement_test, AnSosStartsTheZergOnAnotherMemberWhereItRetires) {
  const std::string fifo = dir_ / "a.fifo";
  std::ofstream(vassals() / "a.ini")
      << "[uwsgi]\nsocket = 127.0.0.1:0\nprocesses = 1\nmaster-fifo = " << fifo
      << "\n\n[zerg]\nsocket = 127.0.0.1:0\nprocesses = 1\nidle = 2\ndie-on-idle = true\n";
  for (int i = 0; i < 3; ++i) start(i, {"--emperor-broodlord", "2"});
  int base = -1;
  ASSERT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 3; ++i)
          if (ready(i).count("a.ini")) base = i;
        return base >= 0;
      },
      slack))
      << outputs();
  // The vassal asks for reinforcements (master FIFO `B`).
  int fd = -1;
  ASSERT_TRUE(eventually([&] {
    fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    return fd >= 0;
  })) << outputs();
  ASSERT_EQ(::write(fd, "B", 1), 1);
  ::close(fd);
  ASSERT_TRUE(emperors_[base]->wait_for_line(
      std::regex(R"(vassal a\.ini: SOS passed to the legion's lord)"), slack))
      << outputs();
  // Its zerg runs on another member, from the [zerg] section of the shared file.
  const std::regex started(R"(vassal a\.ini: starting zerg a\.ini:zerg placed here by the legion)");
  int zerg_on = -1;
  ASSERT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 3; ++i)
          if (emperors_[i]->count_lines(started) > 0) zerg_on = i;
        return zerg_on >= 0;
      },
      slack))
      << outputs();
  EXPECT_NE(zerg_on, base) << "the zerg runs beside no copy of its vassal\n" << outputs();
  ASSERT_TRUE(emperors_[zerg_on]->wait_for_line(
      std::regex(R"(vassal a\.ini:zerg: spawned \(pid [0-9]+\))"), slack))
      << outputs();
  // idle = 2: it retires, leaves the legion's table and is not started again.
  ASSERT_TRUE(emperors_[zerg_on]->wait_for_line(
      std::regex(R"(a\.ini:zerg \(pid [0-9]+\): idle, stopping the zerg)"), slack))
      << outputs();
  // Every member's copy of the table drops it.
  ASSERT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 3; ++i) {
          const nlohmann::json p = stats(i)["legion_placement"];
          if (!p.is_object() || !p["table"].is_object() || p["table"].size() != 1u ||
              !p["table"].contains("a.ini"))
            return false;
        }
        return true;
      },
      slack))
      << outputs();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(emperors_[i]->count_lines(started), i == zerg_on ? 1u : 0u) << outputs();
    EXPECT_FALSE(ready(i).count("a.ini:zerg")) << i;
  }
}

}  // namespace
}  // namespace brood::testing

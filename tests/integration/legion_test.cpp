// Legions of real `brood` nodes on loopback (docs/config.md "Legion"): three members elect the
// highest valor, a SIGKILLed lord is replaced, an arbiter votes but never leads, a member without
// a quorum is no lord, a lord restarted at once on its address leads again with a higher epoch.
// Every member's hooks append "<member> <event> <epoch>" to one file; the epochs of the lord lines
// must only grow.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eventually.hpp"
#include "node_process.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto slack = 20s;  // failover takes well under a second; a loaded machine is slower

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct hook_line {
  int member;
  std::string event;
  std::uint64_t epoch;
};

class legion_test : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) ports_.push_back(free_port());
    nodes_.resize(3);
  }

  // Starts member i (again) with `valor`.
  void start(int i, int valor) {
    nodes_[i] = std::make_unique<node_process>();
    std::vector<std::string> args = {
        "--socket",    "127.0.0.1:0",
        "--processes", "2",
        "--legion",    "web " + address(i) + " " + std::to_string(valor) + " aes-128-cbc:s3cr3t"};
    for (int j = 0; j < 3; ++j) args.insert(args.end(), {"--legion-node", "web " + address(j)});
    for (const char* e : {"lord", "unlord", "join", "death"})
      args.insert(args.end(),
                  {std::string("--legion-") + e, "web cmd:echo \"" + std::to_string(i) + " " + e +
                                                     " $BROOD_LEGION_EPOCH\" >> " + hooks_file()});
    nodes_[i]->exec(BROOD_BINARY, args);
  }

  std::string address(int i) const { return "127.0.0.1:" + std::to_string(ports_[i]); }
  std::string hooks_file() const { return dir_ / "hooks.log"; }
  node_process& node(int i) { return *nodes_[i]; }

  // The epoch of member i's `count`-th "lord (epoch N)" log line (0 on timeout).
  std::uint64_t lord_epoch(int i, int count = 1) {
    if (!node(i).wait_for("legion 'web': lord (epoch", count, slack)) return 0;
    std::uint64_t epoch = 0;
    std::istringstream lines(node(i).all_output());
    const std::regex re(R"(legion 'web': lord \(epoch (\d+)\))");
    int seen = 0;
    for (std::string l; std::getline(lines, l);) {
      std::smatch m;
      if (std::regex_search(l, m, re) && ++seen == count) epoch = std::stoull(m[1]);
    }
    return epoch;
  }

  // How many "lord (epoch N)" lines member i has logged: a member may lead briefly before a
  // higher valor joins, so the lord that replaces a killed one is the line after these.
  int lord_lines(int i) {
    return static_cast<int>(node(i).count_lines(std::regex("legion 'web': lord \\(epoch")));
  }

  std::vector<hook_line> hook_lines() const {
    std::vector<hook_line> out;
    std::ifstream f(hooks_file());
    hook_line h;
    while (f >> h.member >> h.event >> h.epoch) out.push_back(h);
    return out;
  }

  // Member i's hook line "<i> <event> <epoch>" exists.
  bool hooked(int i, const std::string& event, std::uint64_t epoch) const {
    for (const hook_line& h : hook_lines())
      if (h.member == i && h.event == event && h.epoch == epoch) return true;
    return false;
  }

  // Every lord line has an epoch above the one before it, and no epoch has two lords.
  void expect_growing_lord_epochs() const {
    std::uint64_t last = 0;
    for (const hook_line& h : hook_lines()) {
      if (h.event != "lord") continue;
      EXPECT_GT(h.epoch, last) << "member " << h.member;
      last = h.epoch;
    }
  }

  std::string output() {
    std::string out;
    for (int i = 0; i < 3; ++i)
      if (nodes_[i]) out += "--- member " + std::to_string(i) + "\n" + nodes_[i]->all_output();
    return out;
  }

  temp_dir dir_{"brood_legion_"};
  std::vector<std::uint16_t> ports_;
  std::vector<std::unique_ptr<node_process>> nodes_;
};

TEST_F(legion_test, HighestValorLeadsAndASigkilledLordIsReplaced) {
  start(0, 1);
  start(1, 3);
  start(2, 2);
  const std::uint64_t first = lord_epoch(1);
  ASSERT_GE(first, 1u) << output();
  ASSERT_TRUE(eventually([&] { return hooked(1, "lord", first); }, slack)) << output();
  const int seen = lord_lines(2);
  node(1).kill_all();
  const std::uint64_t second = lord_epoch(2, seen + 1);
  ASSERT_GT(second, first) << output();
  EXPECT_TRUE(eventually([&] { return hooked(2, "lord", second); }, slack)) << output();
  EXPECT_EQ(node(0).count_lines(std::regex("legion 'web': lord \\(")), 0u) << output();
  expect_growing_lord_epochs();
}

// Only the master is killed: its workers (forked after the legion started) hold copies of its
// sockets until they end (PDEATHSIG), and the lord must still be replaced.
TEST_F(legion_test, SigkilledMasterWithWorkersIsReplaced) {
  start(0, 1);
  start(1, 3);
  start(2, 2);
  const std::uint64_t first = lord_epoch(1);
  ASSERT_GE(first, 1u) << output();
  ASSERT_TRUE(node(1).wait_ready(slack)) << output();
  const int seen = lord_lines(2);
  ::kill(node(1).pid(), SIGKILL);
  ASSERT_GT(lord_epoch(2, seen + 1), first) << output();
}

TEST_F(legion_test, ArbiterVotesForTheSurvivor) {
  start(0, 0);  // arbiter
  start(1, 3);
  start(2, 2);
  const std::uint64_t first = lord_epoch(1);
  ASSERT_GE(first, 1u) << output();
  const int seen = lord_lines(2);
  node(1).kill_all();
  // 2 of 3 members: member 2 and the arbiter are a quorum.
  ASSERT_GT(lord_epoch(2, seen + 1), first) << output();
  EXPECT_EQ(node(0).count_lines(std::regex("legion 'web': lord \\(")), 0u) << output();
}

TEST_F(legion_test, LordWithoutQuorumStepsDown) {
  start(0, 1);
  start(1, 3);
  start(2, 2);
  const std::uint64_t epoch = lord_epoch(1);
  ASSERT_GE(epoch, 1u) << output();
  node(0).kill_all();
  node(2).kill_all();
  ASSERT_TRUE(node(1).wait_for("legion 'web': unlord (epoch", 1, slack)) << output();
  EXPECT_TRUE(eventually([&] { return hooked(1, "unlord", epoch); }, slack)) << output();
  // Alone it stays no lord.
  EXPECT_FALSE(node(1).wait_for("legion 'web': lord (epoch", 2, 2s)) << output();
}

TEST_F(legion_test, LordRestartedAtOnceOnItsAddressLeadsAgainWithAHigherEpoch) {
  start(0, 1);
  start(1, 3);
  start(2, 2);
  const std::uint64_t first = lord_epoch(1);
  ASSERT_GE(first, 1u) << output();
  node(1).kill_all();
  start(1, 3);  // same address, new uuid
  const std::uint64_t again = lord_epoch(1);
  ASSERT_GT(again, first) << output();
  expect_growing_lord_epochs();
}

TEST_F(legion_test, GracefulStopRunsUnlordAndDeathHooks) {
  start(0, 1);
  start(1, 3);
  start(2, 2);
  const std::uint64_t epoch = lord_epoch(1);
  ASSERT_GE(epoch, 1u) << output();
  const int seen = lord_lines(2);
  node(1).signal(SIGTERM);
  ASSERT_TRUE(node(1).wait_exit(slack)) << output();
  EXPECT_TRUE(hooked(1, "unlord", epoch)) << output();
  EXPECT_TRUE(hooked(1, "death", epoch)) << output();
  EXPECT_GT(lord_epoch(2, seen + 1), epoch) << output();
}

// An emperor is a member too: a one-member legion (quorum 1) leads at once; a stop resigns.
TEST_F(legion_test, EmperorIsAMember) {
  temp_dir vassals("brood_legion_vassals_");
  node_process emperor;
  emperor.exec(
      BROOD_BINARY,
      {"--emperor", vassals.path(), "--legion", "cluster " + address(0) + " 1 s", "--legion-death",
       "cluster cmd:echo \"0 death $BROOD_LEGION_EPOCH\" >> " + hooks_file()});
  ASSERT_TRUE(emperor.wait_for("legion 'cluster': lord (epoch 1)", 1, slack))
      << emperor.all_output();
  emperor.signal(SIGINT);
  ASSERT_TRUE(emperor.wait_exit(slack)) << emperor.all_output();
  EXPECT_EQ(emperor.count_lines(std::regex("legion 'cluster': unlord \\(epoch 1\\)")), 1u)
      << emperor.all_output();
  EXPECT_TRUE(hooked(0, "death", 1)) << emperor.all_output();
}

}  // namespace
}  // namespace brood::testing

// Legions of real `brood` nodes electing through a real etcd (docs/config.md "legion-etcd"):
// the highest valor leads, a SIGKILLed lord is replaced (at once: the others list it, so its
// closed connection revokes its lease), and with etcd killed the lord runs its unlord hook, then
// leads again with a higher epoch once etcd is back. Hooks append "<member> <event> <epoch>".
#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "etcd_server.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto slack = 30s;  // etcd elects in seconds at worst; a loaded machine is slower

struct hook_line {
  int member;
  std::string event;
  std::uint64_t epoch;
};

class legion_etcd_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_server::available()) GTEST_SKIP() << "no " << etcd_server::binary;
    ASSERT_TRUE(etcd_.start()) << etcd_.output();
    for (int i = 0; i < 3; ++i) ports_.push_back(etcd_server::free_port());
    nodes_.resize(3);
  }

  void start(int i, int valor) {
    nodes_[i] = std::make_unique<node_process>();
    std::vector<std::string> args = {
        "--socket",
        "127.0.0.1:0",
        "--master",
        "--legion",
        "web " + address(i) + " " + std::to_string(valor) + " aes-128-cbc:s3cr3t",
        "--legion-etcd",
        etcd_.endpoint()};
    for (int j = 0; j < 3; ++j) args.insert(args.end(), {"--legion-node", "web " + address(j)});
    for (const char* e : {"lord", "unlord"})
      args.insert(args.end(),
                  {std::string("--legion-") + e, "web cmd:echo \"" + std::to_string(i) + " " + e +
                                                     " $BROOD_LEGION_EPOCH\" >> " + hooks_file()});
    nodes_[i]->exec(BROOD_BINARY, args);
  }

  std::string address(int i) const { return "127.0.0.1:" + std::to_string(ports_[i]); }
  std::string hooks_file() const { return dir_ / "hooks.log"; }
  node_process& node(int i) { return *nodes_[i]; }

  std::vector<hook_line> hook_lines() const {
    std::vector<hook_line> out;
    std::ifstream f(hooks_file());
    hook_line h;
    while (f >> h.member >> h.event >> h.epoch) out.push_back(h);
    return out;
  }
  // The epoch of member i's `count`-th hook line of `event` (0: none yet).
  std::uint64_t hooked(int i, const std::string& event, int count = 1) const {
    int seen = 0;
    for (const hook_line& h : hook_lines())
      if (h.member == i && h.event == event && ++seen == count) return h.epoch;
    return 0;
  }
  // Lord lines: epochs only grow, and none before the previous lord's unlord (or death).
  void expect_growing_lord_epochs() const {
    std::uint64_t last = 0;
    for (const hook_line& h : hook_lines()) {
      if (h.event != "lord") continue;
      EXPECT_GT(h.epoch, last) << "member " << h.member;
      last = h.epoch;
    }
  }
  std::string output() {
    std::string out = "--- etcd\n" + etcd_.output();
    for (int i = 0; i < 3; ++i)
      if (nodes_[i]) out += "--- member " + std::to_string(i) + "\n" + nodes_[i]->all_output();
    return out;
  }

  etcd_server etcd_;
  temp_dir dir_{"brood_legion_etcd_"};
  std::vector<std::uint16_t> ports_;
  std::vector<std::unique_ptr<node_process>> nodes_;
};

TEST_F(legion_etcd_test, HighestValorLeadsAndASigkilledLordIsReplaced) {
  start(0, 1);
  start(1, 3);
  start(2, 2);
  std::uint64_t first = 0;
  ASSERT_TRUE(eventually([&] { return (first = hooked(1, "lord")) != 0; }, slack)) << output();
  node(1).kill_all();
  std::uint64_t second = 0;
  ASSERT_TRUE(eventually([&] { return (second = hooked(2, "lord")) != 0; }, slack)) << output();
  EXPECT_GT(second, first);
  EXPECT_EQ(hooked(0, "lord"), 0u) << output();
  expect_growing_lord_epochs();
}

TEST_F(legion_etcd_test, TheLordStepsDownWhileEtcdIsDownAndLeadsAgainAfter) {
  start(0, 1);
  std::uint64_t first = 0;
  ASSERT_TRUE(eventually([&] { return (first = hooked(0, "lord")) != 0; }, slack)) << output();
  etcd_.stop();
  ASSERT_TRUE(eventually([&] { return hooked(0, "unlord") == first; }, slack)) << output();
  ASSERT_TRUE(node(0).wait_for("etcd keepalive failed", 1, slack)) << output();
  ASSERT_TRUE(etcd_.start()) << output();
  std::uint64_t second = 0;
  ASSERT_TRUE(eventually([&] { return (second = hooked(0, "lord", 2)) != 0; }, slack)) << output();
  EXPECT_GT(second, first);
  EXPECT_TRUE(node(0).wait_for("etcd answers again", 1, slack)) << output();
  expect_growing_lord_epochs();
}

TEST_F(legion_etcd_test, AnEndpointThatDoesNotAnswerStopsBrood) {
  nodes_[0] = std::make_unique<node_process>();
  const std::string closed = "http://127.0.0.1:" + std::to_string(etcd_server::free_port());
  node(0).exec(BROOD_BINARY, {"--socket", "127.0.0.1:0", "--master", "--legion",
                              "web " + address(0) + " 1 s3cr3t", "--legion-etcd", closed});
  EXPECT_TRUE(node(0).wait_for("legion 'web': legion-etcd: no endpoint of '" + closed, 1, slack))
      << output();
  const auto status = node(0).wait_exit(slack);
  ASSERT_TRUE(status.has_value()) << output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << output();
}

}  // namespace
}  // namespace brood::testing

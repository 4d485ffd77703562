// The legion's hooks and attach daemons (legion/src/hook_runner.hpp, attach_daemons.hpp,
// detached.hpp) and a one-member legion running them through `members`.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "attach_daemons.hpp"
#include "brood/legion/member.hpp"
#include "detached.hpp"
#include "eventually.hpp"
#include "hook_runner.hpp"
#include "legion_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::legion {
namespace {

using brood::testing::eventually;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Running (a zombie waiting for init to reap it is not).
bool alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

class legion_hooks_test : public ::testing::Test {
 protected:
  brood::testing::temp_dir dir{"brood_legion_hooks_"};
};

TEST_F(legion_hooks_test, CommandGetsTheLegionEnvironment) {
  const std::string out = dir / "out";
  hook_context c{"web", hook_event::node_joined, 7, "127.0.0.1:4002"};
  run_hook_actions({{hook_action::kind::cmd,
                     "echo \"$BROOD_LEGION $BROOD_LEGION_EVENT $BROOD_LEGION_EPOCH "
                     "$BROOD_LEGION_NODE\" > " +
                         out}},
                   c, {});
  EXPECT_EQ(slurp(out), "web node-joined 7 127.0.0.1:4002\n");
}

TEST_F(legion_hooks_test, SignalActionCallsTheOwner) {
  int raised = -1;
  run_hook_actions({{hook_action::kind::signal, "17"}}, hook_context{"web", hook_event::lord, 1},
                   [&](int n) { raised = n; });
  EXPECT_EQ(raised, 17);
}

TEST_F(legion_hooks_test, DetachedCommandIsNoChildOfOurs) {
  std::string error;
  auto p = spawn_detached("exit 3", {}, error);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(wait_exit(*p, 10s));
  // waitpid(-1) of an owner finds no child left behind by the hook.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
}

TEST_F(legion_hooks_test, AttachDaemonsRunUntilStoppedAndAreRespawned) {
  const std::string pids = dir / "pids";
  attach_daemons d("web", {"echo $$ >> " + pids + "; exec sleep 1000"});
  d.start({"BROOD_LEGION=web"});
  ASSERT_TRUE(eventually([&] { return !slurp(pids).empty(); }));
  const pid_t first = std::stoi(slurp(pids));
  EXPECT_TRUE(alive(first));
  ::kill(first, SIGKILL);  // dies while lord: respawned (at most once a second)
  ASSERT_TRUE(eventually(
      [&] {
        d.check();
        std::istringstream s(slurp(pids));
        int a = 0, b = 0;
        return static_cast<bool>(s >> a >> b);
      },
      10s, 50ms));
  std::istringstream s(slurp(pids));
  int a = 0, b = 0;
  s >> a >> b;
  EXPECT_TRUE(alive(b));
  d.stop();
  EXPECT_TRUE(eventually([&] { return !alive(b); }));
}

TEST_F(legion_hooks_test, OneMemberLegionRunsItsHooksAndDaemon) {
  const std::string log = dir / "hooks";
  const std::string pid_file = dir / "daemon";
  config c = testing::member_config("solo", {testing::free_port()}, 0, 1);
  legion_config& l = c.legions[0];
  for (hook_event e : {hook_event::setup, hook_event::lord, hook_event::unlord, hook_event::death,
                       hook_event::join})
    l.hooks[e].push_back(
        {hook_action::kind::cmd, "echo \"$BROOD_LEGION_EVENT $BROOD_LEGION_EPOCH\" >> " + log});
  l.attach_daemons.push_back("echo $$ > " + pid_file + "; exec sleep 1000");
  std::vector<std::pair<bool, std::uint64_t>> changes;
  std::mutex m;
  member_hooks h;
  h.on_lord_change = [&](const std::string& name, bool lord, std::uint64_t epoch) {
    EXPECT_EQ(name, "solo");
    std::lock_guard lock(m);
    changes.emplace_back(lord, epoch);
  };
  std::string error;
  auto members = members::start(c, h, nullptr, error);
  ASSERT_TRUE(members) << error;
  ASSERT_TRUE(eventually([&] { return members->i_am_the_lord("solo"); }));
  EXPECT_GE(members->epoch("solo"), 1u);
  EXPECT_FALSE(members->i_am_the_lord("other"));
  ASSERT_TRUE(eventually([&] { return !slurp(pid_file).empty(); }));
  const pid_t daemon = std::stoi(slurp(pid_file));
  EXPECT_TRUE(alive(daemon));
  const std::uint64_t epoch = members->epoch("solo");
  members.reset();  // resigns: unlord, then death; the daemon stops
  EXPECT_FALSE(alive(daemon));
  const std::string e = std::to_string(epoch);
  const std::string lines = slurp(log);
  EXPECT_NE(lines.find("setup 0\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("lord " + e + "\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("unlord " + e + "\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("death " + e + "\n"), std::string::npos) << lines;
  EXPECT_LT(lines.find("setup"), lines.find("lord"));
  EXPECT_LT(lines.find("unlord"), lines.find("death"));
  std::lock_guard lock(m);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0], std::make_pair(true, epoch));
  EXPECT_EQ(changes[1], std::make_pair(false, epoch));
}

TEST_F(legion_hooks_test, BindFailureIsNamed) {
  const std::uint16_t port = testing::free_port();
  config c = testing::member_config("web", {port}, 0, 1);
  std::string error;
  auto first = members::start(c, {}, nullptr, error);
  ASSERT_TRUE(first) << error;
  auto second = members::start(c, {}, nullptr, error);
  EXPECT_FALSE(second);
  EXPECT_EQ(error, "legion 'web': cannot bind 127.0.0.1:" + std::to_string(port) +
                       ": Address already in use");
}

}  // namespace
}  // namespace brood::legion

// serve_fork_server with a warm spare (options.spares = 1): a request served by the spare (its
// pid existed before the request), a bad request refused by the spare itself, the next request
// forked directly, a killed spare replaced, the
// base's stop taking its spare down, and spares = 0 keeping the direct path.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "fork_server_fixture.hpp"

namespace brood::node::test {
namespace {

class fork_server_spare_test : public fork_server_test {
 protected:
  void SetUp() override {
    fork_server_test::SetUp();
    spares_ = 1;
  }

  // The pid of the base's `n`th ready spare (1-based), once its line is logged; -1 on timeout.
  long long spare_pid(int n) {
    if (!base_.wait_for("fork server: spare ready (pid ", n)) return -1;
    const std::string out = base_.all_output();
    static const std::regex ready(R"(fork server: spare ready \(pid (\d+)\))");
    int seen = 0;
    for (auto it = std::sregex_iterator(out.begin(), out.end(), ready);
         it != std::sregex_iterator(); ++it)
      if (++seen == n) return std::stoll((*it)[1]);
    return -1;
  }

  // The parent pid of `pid` (from /proc), -1 when it is gone.
  static long long parent_of(long long pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return -1;
    const auto close = line.rfind(')');
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    long long ppid = -1;
    rest >> state >> ppid;
    return ppid;
  }
};

TEST_F(fork_server_spare_test, ARequestIsServedByTheSpareThatExistedBeforeIt) {
  start_base();
  ASSERT_TRUE(wait_ready()) << base_.all_output();
  const long long spare = spare_pid(1);
  ASSERT_GT(spare, 0) << base_.all_output();
  EXPECT_EQ(parent_of(spare), ::getpid());  // already re-parented to the emperor
  auto [channel, pid] = adopt(request({"brood", "--ini", "one.ini"}));
  ASSERT_EQ(pid, spare) << base_.all_output();
  EXPECT_EQ(last_reply_, wire::encode_fork_reply(static_cast<pid_t>(pid)));
  const auto facts = facts_of(channel.get(), pid);
  EXPECT_EQ(facts.at("pid"), std::to_string(spare));
  EXPECT_EQ(facts.at("ppid"), std::to_string(::getpid()));
  EXPECT_EQ(facts.at("argv"), "brood|--ini|one.ini");
  EXPECT_NE(facts.at("UWSGI_EMPEROR_FD"), "<unset>");
  EXPECT_EQ(facts.at("channel_cloexec"), "0");
  EXPECT_EQ(facts.at("UWSGI_EMPEROR_FD_CONFIG"), "<unset>");
  EXPECT_EQ(facts.at("BROOD_INHERITED_SOCKETS"), "<unset>");
  EXPECT_EQ(facts.at("UWSGI_RELOADS"), "<unset>");
  EXPECT_EQ(facts.at("NOTIFY_SOCKET"), "<unset>");
  EXPECT_EQ(facts.at("FS_KEEP"), "kept");
  EXPECT_EQ(facts.at("fd0_listening"), "0");
  EXPECT_EQ(facts.at("fork_socket_open"), "0");
  EXPECT_EQ(facts.at("signalfd_open"), "0");
  EXPECT_EQ(facts.at("seqpacket_open"), "0");
  EXPECT_EQ(facts.at("blocked_signals"), "0");
  EXPECT_EQ(facts.at("sigusr1_ignored"), "1");
  EXPECT_EQ(facts.at("sigusr2_default"), "1");
  EXPECT_EQ(facts.at("sigchld_default"), "1");
  EXPECT_EQ(facts.at("pdeathsig"), std::to_string(SIGKILL));
  EXPECT_EQ(facts.at("before_fork"), "1");  // the hooks ran when the spare was forked
  EXPECT_EQ(facts.at("after_fork_child"), "1");
  EXPECT_EQ(facts.at("spare_warm_up"), "1");  // ran in the spare, before it was ready
  EXPECT_TRUE(base_.wait_for("fork server: adopted vassal pid " + std::to_string(spare) +
                             " from the spare for brood"))
      << base_.all_output();
}

// The ready spare accepts on the fork server's socket itself (the base does not relay): it
// refuses a bad request as the base would (logged under its own pid, the fds closed, no reply)
// and serves the next one.
TEST_F(fork_server_spare_test, TheSpareRefusesABadRequestItselfAndServesTheNext) {
  start_base();
  ASSERT_TRUE(wait_ready());
  const long long spare = spare_pid(1);
  ASSERT_GT(spare, 0) << base_.all_output();
  wire::bytes bad;
  ASSERT_FALSE(wire::append_packet(bad, 0, 1, wire::bytes{1, 0, 'a'}));
  auto [test_end, vassal_end] = socket_pair();
  auto s = send_packet(bad, {vassal_end.get()});
  vassal_end.reset();
  EXPECT_TRUE(s->closed_by_peer(5s)) << base_.all_output();
  ASSERT_TRUE(base_.wait_for("fork server: refused a request", 1, 5s)) << base_.all_output();
  EXPECT_NE(
      base_.all_output().find(" " + std::to_string(spare) + "] fork server: refused a request"),
      std::string::npos)
      << base_.all_output();
  pollfd p{test_end.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char c;
  EXPECT_EQ(::read(test_end.get(), &c, 1), 0) << "the spare kept the fds of a refused request";
  auto [channel, pid] = adopt(request({"brood", "--ini", "after-refusal.ini"}));
  ASSERT_EQ(pid, spare) << base_.all_output();
  EXPECT_EQ(facts_of(channel.get(), pid).at("argv"), "brood|--ini|after-refusal.ini");
  EXPECT_TRUE(base_.wait_for("fork server: adopted vassal pid " + std::to_string(spare) +
                             " from the spare for brood (3 args, 1 fds; request of pid " +
                             std::to_string(::getpid()) + ")"))
      << base_.all_output();
}

TEST_F(fork_server_spare_test, TheSpareGetsTheRequestsFdsAndEnvironment) {
  start_base();
  ASSERT_TRUE(wait_ready());
  const long long spare = spare_pid(1);
  ASSERT_GT(spare, 0) << base_.all_output();
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  os::unique_fd config_read(pipe_fds[0]), config_write(pipe_fds[1]);
  ASSERT_EQ(::write(config_write.get(), "[uwsgi]\n", 8), 8);
  config_write.reset();
  os::unique_fd on_demand = tcp_listener(), first = tcp_listener(), second = tcp_listener();
  wire::fork_request r = request({"brood", "--http-socket", ":0"});
  r.config_fd = true;
  r.on_demand_fd = true;
  r.sockets = 2;
  r.env = {"FS_SET=one=two", "FS_UNSET", "NOTIFY_SOCKET=/run/mine"};
  auto [channel, pid] = adopt(r, {config_read.get(), on_demand.get(), first.get(), second.get()});
  ASSERT_EQ(pid, spare) << base_.all_output();
  const auto facts = facts_of(channel.get(), pid);
  EXPECT_EQ(facts.at("config"), "[uwsgi]");
  EXPECT_EQ(facts.at("fd0_listening"), "1");
  EXPECT_EQ(facts.at("fd0_port"), std::to_string(tcp_port_of(on_demand.get())));
  EXPECT_EQ(facts.at("inherited_ports"), std::to_string(tcp_port_of(first.get())) + "," +
                                             std::to_string(tcp_port_of(second.get())));
  EXPECT_EQ(facts.at("FS_SET"), "one=two");
  EXPECT_EQ(facts.at("FS_UNSET"), "<unset>");
  EXPECT_EQ(facts.at("NOTIFY_SOCKET"), "/run/mine");
  EXPECT_EQ(facts.at("argv"), "brood|--http-socket|:0");
}

TEST_F(fork_server_spare_test, ASecondRequestRightAfterIsForkedThenANewSpareServes) {
  start_base();
  ASSERT_TRUE(wait_ready());
  const long long spare = spare_pid(1);
  ASSERT_GT(spare, 0) << base_.all_output();
  auto [first_channel, first] = adopt(request({"brood", "--ini", "1.ini"}));
  auto [second_channel, second] = adopt(request({"brood", "--ini", "2.ini"}));
  ASSERT_EQ(first, spare);
  ASSERT_GT(second, 0) << base_.all_output();
  EXPECT_NE(second, spare);
  EXPECT_EQ(facts_of(first_channel.get(), first).at("argv"), "brood|--ini|1.ini");
  const auto facts = facts_of(second_channel.get(), second);
  EXPECT_EQ(facts.at("argv"), "brood|--ini|2.ini");
  EXPECT_EQ(facts.at("ppid"), std::to_string(::getpid()));
  EXPECT_EQ(facts.at("seqpacket_open"), "0");
  EXPECT_TRUE(base_.wait_for("fork server: forked an adopted vassal for brood"));
  const long long next = spare_pid(2);  // created after the hand-out, off the request's path
  ASSERT_GT(next, 0) << base_.all_output();
  EXPECT_NE(next, spare);
  EXPECT_NE(next, second);
  auto [third_channel, third] = adopt(request({"brood", "--ini", "3.ini"}));
  ASSERT_EQ(third, next) << base_.all_output();
  EXPECT_EQ(facts_of(third_channel.get(), third).at("argv"), "brood|--ini|3.ini");
}

TEST_F(fork_server_spare_test, AKilledSpareIsReplacedAndRequestsStillWork) {
  start_base();
  ASSERT_TRUE(wait_ready());
  const long long spare = spare_pid(1);
  ASSERT_GT(spare, 0) << base_.all_output();
  ASSERT_EQ(::kill(static_cast<pid_t>(spare), SIGKILL), 0);
  const auto status = reap(static_cast<pid_t>(spare));  // this process's child
  ASSERT_TRUE(status && WIFSIGNALED(*status));
  EXPECT_TRUE(base_.wait_for("fork server: the spare (pid " + std::to_string(spare) + ") is gone"))
      << base_.all_output();
  auto [channel, pid] = adopt(request({"brood", "--ini", "after-kill.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();
  EXPECT_NE(pid, spare);
  EXPECT_EQ(facts_of(channel.get(), pid).at("argv"), "brood|--ini|after-kill.ini");
  const long long next = spare_pid(2);
  ASSERT_GT(next, 0) << base_.all_output();
  auto [next_channel, next_pid] = adopt(request({"brood", "--ini", "replaced.ini"}));
  ASSERT_EQ(next_pid, next) << base_.all_output();
  EXPECT_EQ(facts_of(next_channel.get(), next_pid).at("argv"), "brood|--ini|replaced.ini");
}

TEST_F(fork_server_spare_test, TheBasesStopTakesItsSpareDown) {
  start_base();
  ASSERT_TRUE(wait_ready());
  const long long spare = spare_pid(1);
  ASSERT_GT(spare, 0) << base_.all_output();
  const char stop = 0;
  ASSERT_EQ(::write(emperor_.get(), &stop, 1), 1);
  const auto base_status = base_.wait_exit(5s);
  ASSERT_TRUE(base_status && WIFEXITED(*base_status) && WEXITSTATUS(*base_status) == 0);
  const auto status = reap(static_cast<pid_t>(spare));  // no orphan: it exits with its base
  ASSERT_TRUE(status) << "the spare " << spare << " outlived its base";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST_F(fork_server_spare_test, ASpareWithoutItsEmperorExitsAndIsRetriedOnlyAfterARequest) {
  // The base's parent is an intermediate process, not this subreaper: the spare, re-parented
  // here, finds that its emperor is gone before it is ready.
  const int channel = base_end_.get(), test_end = emperor_.get();
  const std::string path = path_;
  base_.start([=] {
    const pid_t base = ::fork();
    if (base == 0) ::_exit(base_body(path, channel, test_end, 4s, true, 1));
    int status = 0;
    ::waitpid(base, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  });
  base_end_.reset();
  ASSERT_TRUE(wait_ready());
  ASSERT_TRUE(base_.wait_for("fork server spare: its parent is pid")) << base_.all_output();
  ASSERT_TRUE(base_.wait_for("fork server: the spare is gone")) << base_.all_output();
  auto [vassal_channel, pid] = adopt(request({"brood", "--ini", "orphan.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();  // forked directly; it exits in turn
  EXPECT_TRUE(base_.wait_for("fork server: forked an adopted vassal for brood"));
  EXPECT_TRUE(base_.wait_for("fork server spare: its parent is pid", 2)) << base_.all_output();
  EXPECT_TRUE(base_.wait_for("fork server: the spare is gone", 2)) << base_.all_output();
  EXPECT_EQ(base_.count_lines(std::regex("spare ready")), 0u);
}

TEST_F(fork_server_spare_test, ZeroSparesKeepsTheDirectPath) {
  spares_ = 0;
  start_base();
  ASSERT_TRUE(wait_ready());
  for (int i = 1; i <= 2; ++i) {
    auto [channel, pid] = adopt(request({"brood", "--ini", std::to_string(i) + ".ini"}));
    ASSERT_GT(pid, 0) << base_.all_output();
    const auto facts = facts_of(channel.get(), pid);
    EXPECT_EQ(facts.at("before_fork"), std::to_string(i));
    EXPECT_EQ(facts.at("after_fork_parent"), std::to_string(i - 1));
  }
  EXPECT_TRUE(base_.wait_for("fork server: forked an adopted vassal for brood", 2));
  EXPECT_EQ(base_.all_output().find("fork server: spare"), std::string::npos) << base_.all_output();
}

}  // namespace
}  // namespace brood::node::test

// serve_fork_server adopting vassals: the reply, the re-parenting to the emperor (this test
// process), the argv, the fds and the environment of the adopted vassal, the hooks.
#include <unistd.h>

#include "fork_server_fixture.hpp"

namespace brood::node::test {
namespace {

TEST_F(fork_server_test, AdoptsAVassalReparentedToTheEmperor) {
  start_base();
  ASSERT_TRUE(wait_ready()) << base_.all_output();
  auto [channel, pid] = adopt(request({"brood", "--ini", "one.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();
  EXPECT_EQ(last_reply_, wire::encode_fork_reply(static_cast<pid_t>(pid)));
  const auto facts = facts_of(channel.get(), pid);
  EXPECT_EQ(facts.at("pid"), std::to_string(pid));
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
  EXPECT_EQ(facts.at("blocked_signals"), "0");
  EXPECT_EQ(facts.at("sigusr1_ignored"), "1");
  EXPECT_EQ(facts.at("sigusr2_default"), "1");
  EXPECT_EQ(facts.at("sigchld_default"), "1");
  EXPECT_EQ(facts.at("pdeathsig"), std::to_string(SIGKILL));
  EXPECT_EQ(facts.at("before_fork"), "1");
  EXPECT_EQ(facts.at("after_fork_parent"), "0");
  EXPECT_EQ(facts.at("after_fork_child"), "1");
  EXPECT_EQ(facts.at("spare_warm_up"), "0");  // a vassal forked directly rehearses nothing
  EXPECT_TRUE(base_.wait_for("hook after_fork_parent"));
  EXPECT_TRUE(base_.wait_for("fork server: forked an adopted vassal for brood"));
}

TEST_F(fork_server_test, PassesTheConfigPipeAndTheOnDemandSocket) {
  start_base();
  ASSERT_TRUE(wait_ready());
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  os::unique_fd config_read(pipe_fds[0]), config_write(pipe_fds[1]);
  ASSERT_EQ(::write(config_write.get(), "[uwsgi]\n", 8), 8);
  config_write.reset();
  os::unique_fd on_demand = tcp_listener();
  wire::fork_request r = request({"brood", "--ini", "two.ini"});
  r.config_fd = true;
  r.on_demand_fd = true;
  auto [channel, pid] = adopt(r, {config_read.get(), on_demand.get()});
  ASSERT_GT(pid, 0) << base_.all_output();
  const auto facts = facts_of(channel.get(), pid);
  EXPECT_NE(facts.at("UWSGI_EMPEROR_FD_CONFIG"), "<unset>");
  EXPECT_EQ(facts.at("config"), "[uwsgi]");
  EXPECT_EQ(facts.at("fd0_listening"), "1");
  EXPECT_EQ(facts.at("fd0_port"), std::to_string(tcp_port_of(on_demand.get())));
  EXPECT_EQ(facts.at("argv"), "brood|--ini|two.ini");
}

TEST_F(fork_server_test, ExportsInheritedSocketsAndAppliesEnvironmentChanges) {
  start_base();
  ASSERT_TRUE(wait_ready());
  os::unique_fd first = tcp_listener(), second = tcp_listener();
  wire::fork_request r = request({"brood", "--http-socket", ":0"});
  r.sockets = 2;
  r.env = {"FS_SET=one=two", "FS_UNSET", "NOTIFY_SOCKET=/run/mine"};
  auto [channel, pid] = adopt(r, {first.get(), second.get()});
  ASSERT_GT(pid, 0) << base_.all_output();
  const auto facts = facts_of(channel.get(), pid);
  EXPECT_NE(facts.at("BROOD_INHERITED_SOCKETS"), "<unset>");
  EXPECT_EQ(facts.at("inherited_ports"), std::to_string(tcp_port_of(first.get())) + "," +
                                             std::to_string(tcp_port_of(second.get())));
  EXPECT_EQ(facts.at("FS_SET"), "one=two");
  EXPECT_EQ(facts.at("FS_UNSET"), "<unset>");
  EXPECT_EQ(facts.at("NOTIFY_SOCKET"), "/run/mine");  // the emperor's change wins
  EXPECT_EQ(facts.at("UWSGI_RELOADS"), "<unset>");
  EXPECT_EQ(facts.at("fd0_listening"), "0");
  EXPECT_EQ(facts.at("argv"), "brood|--http-socket|:0");
}

TEST_F(fork_server_test, ServesRequestsOneAfterAnother) {
  start_base();
  ASSERT_TRUE(wait_ready());
  std::vector<long long> pids;
  for (int i = 1; i <= 3; ++i) {
    auto [channel, pid] = adopt(request({"brood", "--ini", std::to_string(i) + ".ini"}));
    ASSERT_GT(pid, 0) << base_.all_output();
    const auto facts = facts_of(channel.get(), pid);
    EXPECT_EQ(facts.at("argv"), "brood|--ini|" + std::to_string(i) + ".ini");
    EXPECT_EQ(facts.at("before_fork"), std::to_string(i));
    EXPECT_EQ(facts.at("after_fork_parent"), std::to_string(i - 1));
    EXPECT_EQ(facts.at("ppid"), std::to_string(::getpid()));
    for (long long other : pids) EXPECT_NE(other, pid);
    pids.push_back(pid);
  }
  EXPECT_TRUE(base_.wait_for("hook after_fork_parent", 3));
}

TEST_F(fork_server_test, EmptyHooksAreSkipped) {
  with_hooks_ = false;
  start_base();
  ASSERT_TRUE(wait_ready());
  auto [channel, pid] = adopt(request({"brood", "--ini", "plain.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();
  const auto facts = facts_of(channel.get(), pid);
  EXPECT_EQ(facts.at("argv"), "brood|--ini|plain.ini");
  EXPECT_EQ(facts.at("before_fork"), "0");
  EXPECT_EQ(facts.at("after_fork_child"), "0");
}

TEST_F(fork_server_test, ABaseIgnoringSigchldStillForksAndItsVassalGetsSigchldBack) {
  ignore_sigchld_ = true;
  start_base();
  ASSERT_TRUE(wait_ready());
  auto [channel, pid] = adopt(request({"brood", "--ini", "reaper.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();
  const auto facts = facts_of(channel.get(), pid);
  EXPECT_EQ(facts.at("sigchld_default"), "1");
  EXPECT_EQ(facts.at("sigusr1_ignored"), "1");
  EXPECT_TRUE(base_.wait_for("fork server: forked an adopted vassal for brood"));
}

TEST_F(fork_server_test, AVassalThatCannotReplyExits) {
  start_base();
  ASSERT_TRUE(wait_ready());
  auto [test_end, vassal_end] = socket_pair();
  wire::bytes packet;
  ASSERT_FALSE(wire::encode_fork_request(request({"brood", "--ini", "hung-up.ini"}), packet));
  send_packet(packet, {vassal_end.get()});  // the emperor hangs up before the reply
  vassal_end.reset();
  EXPECT_TRUE(base_.wait_for("adopted vassal: cannot send its pid to the emperor"))
      << base_.all_output();
  EXPECT_EQ(read_to_eof(test_end.get()), "");  // it exited: its channel is closed
  auto [channel, pid] = adopt(request({"brood", "--ini", "next.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();
  EXPECT_EQ(facts_of(channel.get(), pid).at("argv"), "brood|--ini|next.ini");
}

}  // namespace
}  // namespace brood::node::test

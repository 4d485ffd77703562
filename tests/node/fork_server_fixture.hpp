#pragma once
// The fork-server tests' fixture: the test process plays the emperor. It is a child subreaper,
// forks a base process (testing::node_process) whose emperor channel is a socketpair the test
// holds, and sends it real requests (os::send_with_fds) on its unix socket. The base calls
// serve_fork_server with counting hooks; its adopted vassals report their facts on their own
// channel (fork_server_facts.hpp) and exit, and the test reaps them as their new parent.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brood/node/fork_server.hpp"
#include "brood/os/fd_passing.hpp"
#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/fork_protocol.hpp"
#include "eventually.hpp"
#include "fork_server_facts.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::node::test {

using namespace std::chrono_literals;

// Both ends of a fresh unix stream socketpair: [0] stays in the test, [1] is passed.
inline std::pair<os::unique_fd, os::unique_fd> socket_pair() {
  int sv[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  return {os::unique_fd(sv[0]), os::unique_fd(sv[1])};
}

// A listening TCP socket on 127.0.0.1 and an ephemeral port.
inline os::unique_fd tcp_listener() {
  os::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd.get(), 8), 0);
  return fd;
}

// Everything `fd` delivers until EOF, within `timeout` (what came so far on timeout).
inline std::string read_to_eof(int fd, std::chrono::milliseconds timeout = 5s) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// Reaps the child `pid` (an adopted vassal is this process's child once re-parented) within
// `timeout`; its wait status, nullopt if it did not exit.
inline std::optional<int> reap(pid_t pid, std::chrono::milliseconds timeout = 5s) {
  std::optional<int> status;
  testing::eventually(
      [&] {
        int st = 0;
        if (::waitpid(pid, &st, WNOHANG) != pid) return false;
        status = st;
        return true;
      },
      timeout);
  return status;
}

class fork_server_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    auto [test_end, base_end] = socket_pair();
    emperor_ = std::move(test_end);
    base_end_ = std::move(base_end);
    path_ = dir_ / "fork.sock";
  }
  void TearDown() override {
    base_.kill_all();
    testing::reap_all_children(2s);
  }

  // Forks the base; it serves `path` (path_ by default) with its channel on UWSGI_EMPEROR_FD
  // (none after base_end_.reset()).
  void start_base(std::chrono::milliseconds io_timeout = 4s, std::string path = {}) {
    const int channel = base_end_.get(), test_end = emperor_.get();
    if (path.empty()) path = path_;
    const bool hooks = with_hooks_, ignore_sigchld = ignore_sigchld_;
    const int spares = spares_;
    base_.start([=] {
      if (ignore_sigchld) ::signal(SIGCHLD, SIG_IGN);  // children reap themselves
      return base_body(path, channel, test_end, io_timeout, hooks, spares);
    });
    base_end_.reset();
  }

  // True once the base sent ready (1) then loyal (17) on its channel.
  bool wait_ready() {
    const std::string got = read_bytes(emperor_.get(), 2, 5s);
    return got == std::string{1, 17};
  }

  // Connects to the base and sends `packet` with `fds` on one sendmsg. The socket, for reading.
  std::unique_ptr<testing::raw_socket> send_packet(const wire::bytes& packet,
                                                   const std::vector<int>& fds) {
    auto s = std::make_unique<testing::raw_socket>(path_);
    EXPECT_TRUE(s->connected()) << "errno " << s->error();
    const os::status st = os::send_with_fds(s->fd(), wire::as_chars(packet), fds);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }

  // Sends `r` with a fresh channel and `more` fds after it; reads the reply. The vassal's
  // channel and pid (-1 when no reply came; the raw reply in last_reply_).
  std::pair<os::unique_fd, long long> adopt(const wire::fork_request& r,
                                            const std::vector<int>& more = {}) {
    auto [test_end, vassal_end] = socket_pair();
    std::vector<int> fds{vassal_end.get()};
    fds.insert(fds.end(), more.begin(), more.end());
    wire::bytes packet;
    EXPECT_FALSE(wire::encode_fork_request(r, packet));
    auto s = send_packet(packet, fds);
    vassal_end.reset();
    auto reply = s->read_packet(5s);
    last_reply_.clear();
    if (!reply) return {std::move(test_end), -1};
    const auto head = wire::encode_header(reply->head);
    last_reply_.assign(head.begin(), head.end());
    last_reply_.insert(last_reply_.end(), reply->payload.begin(), reply->payload.end());
    long long pid = -1;
    EXPECT_TRUE(wire::decode_fork_reply(last_reply_, wire::limits{}, pid).is_done());
    EXPECT_TRUE(s->closed_by_peer(2s)) << "the connection stays open after the reply";
    return {std::move(test_end), pid};
  }

  // The facts the vassal on `channel` reports, and its exit status (reaped).
  std::map<std::string, std::string> facts_of(int channel, long long pid) {
    auto facts = parse_facts(read_to_eof(channel));
    const auto status = reap(static_cast<pid_t>(pid));
    EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "vassal " << pid << " did not exit 0 as this process's child";
    return facts;
  }

  static wire::fork_request request(std::vector<std::string> argv) {
    wire::fork_request r;
    r.argv = std::move(argv);
    return r;
  }

  // Exactly `n` bytes from `fd` within `timeout` (fewer on EOF or timeout).
  static std::string read_bytes(int fd, std::size_t n, std::chrono::milliseconds timeout) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char c;
      if (::read(fd, &c, 1) != 1) break;
      out += c;
    }
    return out;
  }

  // The base: the environment and signal state an adopted vassal must not keep, counting hooks.
  static int base_body(const std::string& path, int channel, int test_end,
                       std::chrono::milliseconds io_timeout, bool with_hooks = true,
                       int spares = 0) {
    if (test_end >= 0) ::close(test_end);
    if (channel >= 0) ::setenv("UWSGI_EMPEROR_FD", std::to_string(channel).c_str(), 1);
    ::setenv("UWSGI_RELOADS", "7", 1);
    ::setenv("NOTIFY_SOCKET", "/run/notify", 1);
    ::setenv("FS_UNSET", "base", 1);
    ::setenv("FS_KEEP", "kept", 1);
    ::signal(SIGUSR1, SIG_IGN);     // stays ignored, as across an exec
    ::signal(SIGUSR2, [](int) {});  // caught: back to the default
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    ::sigprocmask(SIG_BLOCK, &usr2, nullptr);
    static hook_counts counts;
    fork_server_hooks hooks;
    hooks.before_fork = [] {
      ++counts.before_fork;
      os::log("hook before_fork");
    };
    hooks.after_fork_parent = [] {
      ++counts.after_fork_parent;
      os::log("hook after_fork_parent");
    };
    hooks.after_fork_child = [] { ++counts.after_fork_child; };
    hooks.spare_warm_up = [] { ++counts.spare_warm_up; };
    if (!with_hooks) hooks = fork_server_hooks{};
    fork_server_options options;
    options.io_timeout = io_timeout;
    options.spares = spares;
    const fork_server_result r = serve_fork_server(path, hooks, options);
    if (!r.adopted_argv) return r.exit_status;
    return report_facts(*r.adopted_argv, counts, path) ? 0 : 3;
  }

  testing::temp_dir dir_{"brood_fork_server_"};
  std::string path_;
  os::unique_fd emperor_;   // the test's end of the base's channel
  os::unique_fd base_end_;  // the base's end, until start_base
  testing::node_process base_;
  bool with_hooks_ = true;       // false: the base serves with empty hooks
  bool ignore_sigchld_ = false;  // true: the base runs with SIGCHLD ignored
  int spares_ = 0;               // the base's options.spares (0: every request forked directly)
  wire::bytes last_reply_;
};

}  // namespace brood::node::test

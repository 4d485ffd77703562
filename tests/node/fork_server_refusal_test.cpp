// serve_fork_server refusing requests: another uid, too many fds, a bad header or body, a slow or
// vanishing client. Each is logged, its fds are closed, the connection is closed without a reply,
// and the base serves the next request.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fork_server_fixture.hpp"

namespace brood::node::test {
namespace {

class fork_server_refusal_test : public fork_server_test {
 protected:
  // Sends `packet` with a fresh channel plus `more` fds; expects the connection closed with no
  // byte, the channel's other end closed by the base, and a log line containing `why`.
  void expect_refused(const wire::bytes& packet, const std::vector<int>& more,
                      const std::string& why) {
    auto [test_end, vassal_end] = socket_pair();
    std::vector<int> fds{vassal_end.get()};
    fds.insert(fds.end(), more.begin(), more.end());
    auto s = send_packet(packet, fds);
    vassal_end.reset();
    EXPECT_TRUE(s->closed_by_peer(5s)) << "no refusal for: " << why;
    EXPECT_TRUE(base_.wait_for(why, 1, 5s)) << base_.all_output();
    EXPECT_TRUE(at_eof(test_end.get())) << "the base kept the fds of a refused request";
  }

  // True when `fd` reads EOF within 2 s.
  static bool at_eof(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return false;
    char c;
    return ::read(fd, &c, 1) == 0;
  }

  // A plain request is still served after the refusals.
  void expect_still_serving() {
    auto [channel, pid] = adopt(request({"brood", "--ini", "after.ini"}));
    ASSERT_GT(pid, 0) << base_.all_output();
    EXPECT_EQ(facts_of(channel.get(), pid).at("argv"), "brood|--ini|after.ini");
  }

  static wire::bytes plain_packet(std::uint8_t m1, std::uint8_t m2, const wire::bytes& body) {
    wire::bytes out;
    EXPECT_FALSE(wire::append_packet(out, m1, m2, body));
    return out;
  }

  static wire::bytes valid_body() {
    wire::bytes packet;
    EXPECT_FALSE(wire::encode_fork_request(request({"brood"}), packet));
    return wire::bytes(packet.begin() + wire::header_size, packet.end());
  }
};

TEST_F(fork_server_refusal_test, RefusesAPeerOfAnotherUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to setuid(65534)";
  start_base();
  ASSERT_TRUE(wait_ready());
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path_.c_str(), 0777), 0);
  testing::node_process stranger;
  stranger.start([path = path_] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 10;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 11;
    testing::raw_socket s(path);
    if (!s.connected()) return 12;
    wire::bytes packet;
    wire::fork_request r;
    r.argv = {"brood", "--ini", "stranger.ini"};
    if (wire::encode_fork_request(r, packet)) return 13;
    const int fds[] = {sv[1]};
    if (!os::send_with_fds(s.fd(), wire::as_chars(packet), fds).ok()) return 14;
    return s.closed_by_peer(5s) ? 0 : 15;
  });
  const pid_t stranger_pid = stranger.pid();
  const auto status = stranger.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "exit " << *status;
  EXPECT_TRUE(base_.wait_for("peer uid 65534 (pid " + std::to_string(stranger_pid)))
      << base_.all_output();
  EXPECT_FALSE(base_.wait_for("forked an adopted vassal", 1, 100ms));
  expect_still_serving();
}

TEST_F(fork_server_refusal_test, RefusesTooManyFds) {
  start_base();
  ASSERT_TRUE(wait_ready());
  os::unique_fd listener = tcp_listener();
  wire::fork_request r = request({"brood"});
  r.sockets = wire::max_fork_fds - 1;  // the most a request may carry: 16 fds
  wire::bytes packet;
  ASSERT_FALSE(wire::encode_fork_request(r, packet));
  expect_refused(packet, std::vector<int>(wire::max_fork_fds, listener.get()),  // 17 fds
                 "more than 16 fds");
  expect_refused(packet, std::vector<int>(40, listener.get()), "more than 16 fds");  // truncated
  EXPECT_TRUE(base_.wait_for("more than 16 fds", 2));
  expect_still_serving();
}

TEST_F(fork_server_refusal_test, RefusesABadHeader) {
  start_base();
  ASSERT_TRUE(wait_ready());
  expect_refused(plain_packet(0, 1, valid_body()), {}, "bad header: modifier1 0 is not 35");
  expect_refused(plain_packet(35, 0x21, valid_body()), {}, "bad header: fd bitmask");
  expect_refused(plain_packet(35, 0x00, valid_body()), {}, "lacks 0x01");
  expect_still_serving();
}

TEST_F(fork_server_refusal_test, RefusesABadBody) {
  start_base();
  ASSERT_TRUE(wait_ready());
  expect_refused(plain_packet(35, 1, {10, 0, 'a'}), {}, "bad request: argv array");
  expect_refused(plain_packet(35, 1, {}), {}, "bad request: empty argv");
  // The on-demand bit without its fd.
  expect_refused(plain_packet(35, 0x05, valid_body()), {}, "1 fds received for the fd bitmask 5");
  expect_still_serving();
}

TEST_F(fork_server_refusal_test, RefusesASlowClientAfterTheTimeout) {
  start_base(300ms);
  ASSERT_TRUE(wait_ready());
  wire::bytes header_only = plain_packet(35, 1, valid_body());
  header_only.resize(wire::header_size);
  const auto before = std::chrono::steady_clock::now();
  expect_refused(header_only, {}, "timed out reading the body (0 of ");
  EXPECT_GE(std::chrono::steady_clock::now() - before, 250ms);
  // A client that connects and sends nothing.
  testing::raw_socket silent(path_);
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.closed_by_peer(5s));
  EXPECT_TRUE(base_.wait_for("timed out reading the header (0 of 4 bytes)")) << base_.all_output();
  expect_still_serving();
}

TEST_F(fork_server_refusal_test, RefusesAClientThatClosesEarly) {
  start_base();
  ASSERT_TRUE(wait_ready());
  wire::bytes partial = plain_packet(35, 1, valid_body());
  partial.resize(partial.size() - 1);
  auto [test_end, vassal_end] = socket_pair();
  auto s = send_packet(partial, {vassal_end.get()});
  vassal_end.reset();
  ASSERT_EQ(::shutdown(s->fd(), SHUT_WR), 0);
  EXPECT_TRUE(s->closed_by_peer(5s));
  EXPECT_TRUE(base_.wait_for("connection closed by the peer while reading the body"))
      << base_.all_output();
  expect_still_serving();
}

}  // namespace
}  // namespace brood::node::test

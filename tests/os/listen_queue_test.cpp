// os::listen_queue and os::listen_queue_probe: the accept queue of TCP and unix listeners grows
// with connected-but-not-accepted clients and shrinks with accept(); what is not a listener is
// unknown (nullopt).
#include "brood/os/listen_queue.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eventually.hpp"
#include "temp_dir.hpp"

namespace brood::os {
namespace {

constexpr int backlog = 16;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

sockaddr_un unix_path(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  return a;
}

// A listener (TCP on 127.0.0.1:0 or unix in a temp dir) with `backlog` and clients connected
// to it but not accepted.
class listen_queue_test : public ::testing::Test {
 protected:
  void listen_tcp() {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_);
    sockaddr_in a = loopback(0);
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    ASSERT_EQ(::listen(listener_.get(), backlog), 0);
    tcp_port_ = ntohs(a.sin_port);
  }
  void listen_unix() {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_);
    sockaddr_un a = unix_path(dir_ / "listener.sock");
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listener_.get(), backlog), 0);
  }
  // Connects one client (blocking connect; it completes without an accept()).
  void connect_client() {
    const bool tcp = tcp_port_ != 0;
    unique_fd c(::socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(c);
    int rc;
    if (tcp) {
      sockaddr_in a = loopback(tcp_port_);
      rc = ::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_un a = unix_path(dir_ / "listener.sock");
      rc = ::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    ASSERT_EQ(rc, 0) << std::strerror(errno);
    clients_.push_back(std::move(c));
  }
  // True once both listen_queue() and a probe report `queue` (TCP completes the handshake on
  // loopback asynchronously, so the count is waited for).
  bool queue_is(std::uint64_t queue) {
    return testing::eventually(
        [&] {
          auto once = listen_queue(listener_.get());
          auto probed = probe_.query(listener_.get());
          return once && probed && once->queue == queue && once->max == backlog &&
                 probed->queue == queue && probed->max == backlog;
        },
        std::chrono::seconds(5));
  }
  void check_queue_follows_clients() {
    for (int i = 0; i < 3; ++i) connect_client();
    EXPECT_TRUE(queue_is(3));
    unique_fd accepted(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(accepted);
    EXPECT_TRUE(queue_is(2));
    auto now = listen_queue(listener_.get());
    ASSERT_TRUE(now);
    EXPECT_EQ(now->queue, 2u);
    EXPECT_EQ(now->max, static_cast<std::uint64_t>(backlog));
  }

  void SetUp() override {
    auto p = listen_queue_probe::open();
    ASSERT_TRUE(p) << p.error().message();
    probe_ = std::move(*p);
  }

  testing::temp_dir dir_{"brood_listen_queue_"};
  listen_queue_probe probe_;
  unique_fd listener_;
  std::uint16_t tcp_port_ = 0;
  std::vector<unique_fd> clients_;
};

TEST_F(listen_queue_test, AnIdleTcpListenerHasAnEmptyQueueAndItsBacklog) {
  listen_tcp();
  EXPECT_TRUE(queue_is(0));
}

TEST_F(listen_queue_test, TcpQueueCountsConnectionsNotAccepted) {
  listen_tcp();
  check_queue_follows_clients();
}

TEST_F(listen_queue_test, AnIdleUnixListenerHasAnEmptyQueueAndItsBacklog) {
  listen_unix();
  EXPECT_TRUE(queue_is(0));
}

TEST_F(listen_queue_test, UnixQueueCountsConnectionsNotAccepted) {
  listen_unix();
  check_queue_follows_clients();
}

TEST_F(listen_queue_test, ManyQueriesOnOneProbeStayCorrect) {
  listen_unix();
  connect_client();
  for (int i = 0; i < 100; ++i) {
    auto q = probe_.query(listener_.get());
    ASSERT_TRUE(q);
    EXPECT_EQ(q->queue, 1u);
  }
}

TEST_F(listen_queue_test, WhatIsNotAListenerIsUnknown) {
  listen_tcp();
  connect_client();
  EXPECT_FALSE(listen_queue(clients_[0].get()));  // a connected TCP client
  EXPECT_FALSE(probe_.query(clients_[0].get()));
  unique_fd bound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  ASSERT_EQ(::bind(bound.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_FALSE(listen_queue(bound.get()));  // bound, not listening
  unique_fd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  EXPECT_FALSE(listen_queue(udp.get()));
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  unique_fd left(pair[0]), right(pair[1]);
  EXPECT_FALSE(listen_queue(left.get()));  // a connected unix socket
  EXPECT_FALSE(probe_.query(left.get()));
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  unique_fd in(pipe_fds[0]), out(pipe_fds[1]);
  EXPECT_FALSE(listen_queue(in.get()));  // not a socket
  EXPECT_FALSE(listen_queue(-1));
  EXPECT_FALSE(probe_.query(-1));
}

TEST_F(listen_queue_test, AnEmptyProbeMeasuresTcpOnly) {
  listen_unix();
  listen_queue_probe empty;
  EXPECT_FALSE(empty.query(listener_.get()));
  listen_tcp();
  auto q = empty.query(listener_.get());
  ASSERT_TRUE(q);
  EXPECT_EQ(q->max, static_cast<std::uint64_t>(backlog));
}

}  // namespace
}  // namespace brood::os

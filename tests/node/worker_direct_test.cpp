// The worker's direct path: a connection is read, answered and closed without the reactor when
// it can be, and moves to the reactor when it must wait (request late, reply not taken at once).
#include <dirent.h>

#include <string>
#include <thread>

#include "serve_fixture.hpp"

namespace brood::test {
namespace {

constexpr std::uint8_t raw_http = 9;
constexpr std::uint8_t big_http = 10;
constexpr std::size_t big_size = 16u << 20;  // far more than unread loopback buffers take

// Open file descriptors of this process (the worker runs in it).
std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

// modifier1 9: a short raw HTTP answer, then close. 10: big_size bytes (i % 251), then close.
class worker_direct_test : public serve_fixture {
 protected:
  worker_direct_test() {
    router_.on_packet(raw_http, [](const node::request&) {
      const std::string text = "HTTP/1.0 200 OK\r\n\r\nhi";
      return std::optional<node::reply>(node::reply{wire::bytes(text.begin(), text.end()), false});
    });
    router_.on_packet(big_http, [](const node::request&) {
      node::reply out{wire::bytes(big_size), false};
      for (std::size_t i = 0; i < big_size; ++i) out.data[i] = static_cast<std::uint8_t>(i % 251);
      return std::optional<node::reply>(std::move(out));
    });
  }

  std::size_t connections() {
    std::size_t n = 0;
    EXPECT_TRUE(on_worker_thread([&] { n = worker_->connection_count(); }));
    return n;
  }
};

TEST_F(worker_direct_test, FinalReplyLargerThanTheSocketBufferArrivesWholeThenEof) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{big_http, 0, 0, 0}));
  // Not read yet: the worker's first write cannot finish once the reply starts arriving.
  ASSERT_TRUE(c.readable());
  EXPECT_EQ(connections(), 1u) << "the connection must wait in the reactor for the reader";
  auto answer = c.read_exact(big_size, 10s);
  ASSERT_TRUE(answer);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < big_size; ++i) wrong += (*answer)[i] != i % 251;
  EXPECT_EQ(wrong, 0u);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(eventually([this] { return worker_->connection_count() == 0; }));
}

TEST_F(worker_direct_test, RequestSentLongAfterTheConnectIsAnswered) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(eventually([this] { return worker_->connection_count() == 1; }))
      << "the worker takes the silent connection and waits for its request";
  std::this_thread::sleep_for(50ms);  // the request comes late: the behaviour under test
  ASSERT_TRUE(c.send(wire::bytes{raw_http, 0, 0, 0}));
  auto answer = c.read_exact(21);
  ASSERT_TRUE(answer);
  EXPECT_EQ(wire::as_chars(*answer), "HTTP/1.0 200 OK\r\n\r\nhi");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(worker_direct_test, OneShotRequestsLeaveNoConnectionOrDescriptorBehind) {
  const auto where = start_tcp();
  ASSERT_TRUE(on_worker_thread([] {}));  // the worker is running
  const std::size_t before = open_fds();
  for (int i = 0; i < 200; ++i) {
    raw_socket c(where);
    ASSERT_TRUE(c.send(wire::bytes{raw_http, 0, 0, 0}));
    auto answer = c.read_exact(21);
    ASSERT_TRUE(answer) << "request " << i;
    ASSERT_TRUE(c.closed_by_peer()) << "request " << i;
  }
  EXPECT_TRUE(eventually([this] { return worker_->connection_count() == 0; }));
  EXPECT_EQ(open_fds(), before);
}

TEST_F(worker_direct_test, OneShotRequestsOverAUnixSocketAreAnsweredAndClosed) {
  const auto where = start_unix();
  for (int i = 0; i < 20; ++i) {
    raw_socket c(where);
    ASSERT_TRUE(c.send(wire::bytes{raw_http, 0, 0, 0}));
    auto answer = c.read_exact(21);
    ASSERT_TRUE(answer) << "request " << i;
    EXPECT_TRUE(c.closed_by_peer()) << "request " << i;
  }
  EXPECT_TRUE(eventually([this] { return worker_->connection_count() == 0; }));
}

// The request_done hook runs while the reply is being finished; stopping the worker there still
// delivers the reply and its close, and the worker then runs out of work.
TEST_F(worker_direct_test, StopFromTheRequestDoneHookStillDeliversTheReply) {
  const auto where = start_tcp();
  ASSERT_TRUE(on_worker_thread(
      [this] { worker_->on_request_done([this] { worker_->stop_gracefully(); }); }));
  raw_socket c(where);
  ASSERT_TRUE(c.send(wire::bytes{raw_http, 0, 0, 0}));
  auto answer = c.read_exact(21);
  ASSERT_TRUE(answer);
  EXPECT_EQ(wire::as_chars(*answer), "HTTP/1.0 200 OK\r\n\r\nhi");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(wait_run_end(2s));
}

}  // namespace
}  // namespace brood::test

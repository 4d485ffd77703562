// Stopping a worker: graceful (requests in progress are answered, idle connections closed,
// partial requests get their socket-timeout) and immediate.
#include <atomic>
#include <thread>

#include "serve_fixture.hpp"

namespace brood::test {
namespace {

using wire::value;

// m2 3: sleeps 300 ms before answering; anything else: echo.
class worker_stop_test : public serve_fixture {
 protected:
  worker_stop_test() {
    router_.on_message([this](const value& message, std::uint8_t m2) {
      if (m2 == 3) {
        started_ = true;
        std::this_thread::sleep_for(300ms);  // the request in flight
      }
      return message;
    });
  }

  bool wait_started(milliseconds timeout) {
    return testing::eventually([this] { return started_.load(); }, timeout, 1ms);
  }

  void stop_gracefully() {
    asio::post(io_, [this] { worker_->stop_gracefully(); });
  }

  std::atomic<bool> started_{false};
};

TEST_F(worker_stop_test, RequestInFlightIsAnsweredThenTheWorkerEnds) {
  auto where = start_tcp();
  raw_socket idle(where);
  ASSERT_TRUE(idle.send(wire::bytes{100, 0, 0, 0}));
  ASSERT_TRUE(idle.read_exact(4));
  raw_socket busy(where);
  ASSERT_TRUE(busy.send(message_packet(3, value("slow"))));
  ASSERT_TRUE(wait_started(2s));
  stop_gracefully();  // runs once the handler returns
  auto reply = busy.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply_value(*reply), value("slow"));
  EXPECT_TRUE(busy.closed_by_peer());
  EXPECT_TRUE(idle.closed_by_peer());
  busy.close();
  EXPECT_TRUE(wait_run_end(2s));
  raw_socket late(where);
  EXPECT_FALSE(late.connected()) << "the listening socket should be closed";
}

TEST_F(worker_stop_test, PartialRequestMayFinishWithinSocketTimeout) {
  auto where = start_tcp();
  raw_socket c(where);
  const auto packet = message_packet(0, value("split"));
  ASSERT_TRUE(c.send(wire::bytes_view(packet).first(3)));
  ASSERT_TRUE(eventually([&] { return worker_->connection_count() == 1; }));
  ASSERT_TRUE(on_worker_thread([&] { worker_->stop_gracefully(); }));  // stopping from here
  ASSERT_TRUE(c.send(wire::bytes_view(packet).subspan(3)));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply_value(*reply), value("split"));
  EXPECT_TRUE(c.closed_by_peer());
  c.close();
  EXPECT_TRUE(wait_run_end(2s));
}

TEST_F(worker_stop_test, PartialRequestThatNeverFinishesEndsAtSocketTimeout) {
  auto where = start_tcp();
  raw_socket c(where);
  ASSERT_TRUE(c.send(wire::bytes{33, 10, 0, 0}));
  ASSERT_TRUE(eventually([&] { return worker_->connection_count() == 1; }));
  const auto start = steady::now();
  stop_gracefully();
  EXPECT_TRUE(wait_run_end(3s));
  EXPECT_GE(steady::now() - start, 800ms);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(worker_stop_test, StopNowClosesEveryConnection) {
  auto where = start_tcp();
  raw_socket idle(where);
  raw_socket partial(where);
  ASSERT_TRUE(partial.send(wire::bytes{33, 10, 0, 0}));
  ASSERT_TRUE(eventually([&] { return worker_->connection_count() == 2; }));
  asio::post(io_, [this] { worker_->stop_now(); });
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_TRUE(partial.closed_by_peer());
  EXPECT_TRUE(wait_run_end(1s));
}

TEST_F(worker_stop_test, StopGracefullyIsIdempotent) {
  auto where = start_tcp();
  raw_socket c(where);
  ASSERT_TRUE(c.send(wire::bytes{100, 0, 0, 0}));
  ASSERT_TRUE(c.read_exact(4));
  asio::post(io_, [this] {
    worker_->stop_gracefully();
    worker_->stop_gracefully();
  });
  EXPECT_TRUE(c.closed_by_peer());
  c.close();  // the reply's completion may still be pending: then the worker waits for the FIN
  EXPECT_TRUE(wait_run_end(1s));
}

}  // namespace
}  // namespace brood::test

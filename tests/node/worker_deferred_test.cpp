// Deferred handlers (router::on_deferred_packet) served by a worker: the reply comes later from
// another thread, in order with pipelined requests, past socket-timeout, through a graceful stop.
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve_fixture.hpp"

namespace brood::test {
namespace {

constexpr std::uint8_t later = 20;  // answers [255, 0, 0, 1] from another thread after delay_
constexpr std::uint8_t never = 21;  // answers nothing (nullopt) from another thread

class worker_deferred_test : public serve_fixture {
 protected:
  worker_deferred_test() {
    router_.on_deferred_packet(later, [this](const node::request&, node::reply_callback done) {
      spawn([this, done = std::move(done)] {
        std::this_thread::sleep_for(delay_);
        node::reply r{wire::bytes{255, 0, 0, 1}, true};
        done(std::move(r));
      });
    });
    router_.on_deferred_packet(never, [this](const node::request&, node::reply_callback done) {
      spawn([done = std::move(done)] { done(std::nullopt); });
    });
  }

  ~worker_deferred_test() override {
    std::lock_guard lock(mu_);
    for (auto& t : threads_) t.join();
  }

  void spawn(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    threads_.emplace_back(std::move(fn));
  }

  milliseconds delay_ = 50ms;
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

TEST_F(worker_deferred_test, ReplyFromAnotherThreadArrivesAndTheConnectionServesOn) {
  raw_socket c(start_tcp());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(wire::bytes{later, 0, 0, 0}));
    EXPECT_EQ(c.read_exact(4), (wire::bytes{255, 0, 0, 1})) << "request " << i;
  }
  ASSERT_TRUE(c.send(wire::bytes{100, 0, 0, 0}));
  EXPECT_EQ(c.read_exact(4), (wire::bytes{100, 0, 0, 1}));
}

TEST_F(worker_deferred_test, PipelinedRequestWaitsForTheDeferredReply) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{later, 0, 0, 0, 100, 0, 0, 0}));
  EXPECT_EQ(c.read_exact(8), (wire::bytes{255, 0, 0, 1, 100, 0, 0, 1}));
}

TEST_F(worker_deferred_test, HandlerSlowerThanSocketTimeoutIsStillAnswered) {
  delay_ = cfg_.socket_timeout + 300ms;
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{later, 0, 0, 0}));
  EXPECT_EQ(c.read_exact(4, 5s), (wire::bytes{255, 0, 0, 1}));
}

TEST_F(worker_deferred_test, NoReplyClosesTheConnection) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{never, 0, 0, 0}));
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(worker_deferred_test, GracefulStopWaitsForTheDeferredReply) {
  delay_ = 300ms;
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{later, 0, 0, 0}));
  ASSERT_TRUE(eventually([this] { return worker_->connection_count() == 1; }));
  ASSERT_TRUE(on_worker_thread([this] { worker_->stop_gracefully(); }));
  EXPECT_EQ(c.read_exact(4), (wire::bytes{255, 0, 0, 1}));
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(wait_run_end(2s));
}

TEST_F(worker_deferred_test, StopNowDropsTheLateReply) {
  delay_ = 200ms;
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{later, 0, 0, 0}));
  ASSERT_TRUE(eventually([this] { return worker_->connection_count() == 1; }));
  ASSERT_TRUE(on_worker_thread([this] { worker_->stop_now(); }));
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_FALSE(wait_run_end(50ms)) << "the pending reply keeps the io_context running";
  EXPECT_TRUE(wait_run_end(2s)) << "and its late arrival lets it end";
}

}  // namespace
}  // namespace brood::test

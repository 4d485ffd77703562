// Deadlines: trickling and stalled clients are cut after socket-timeout without delaying anyone,
// idle kept-alive connections after keepalive-timeout.
#include <atomic>
#include <thread>
#include <vector>

#include "serve_fixture.hpp"

namespace brood::test {
namespace {

using wire::value;

class worker_timeout_test : public serve_fixture {
 protected:
  worker_timeout_test() {
    router_.on_message([](const value& message, std::uint8_t) { return message; });
  }
};

// Sends one byte of a 200-byte message every 200 ms until the server closes the connection;
// returns how long that took from the first byte, or nothing if it never closed within `limit`.
std::optional<milliseconds> trickle_until_closed(const std::string& where, milliseconds limit) {
  raw_socket c(where);
  const auto packet = message_packet(0, value(std::string(200, 'x')));
  const auto start = steady::now();
  for (std::size_t b = 0; b < packet.size() && steady::now() - start < limit; ++b) {
    if (!c.send(wire::bytes_view(&packet[b], 1))) break;
    if (c.closed_by_peer(200ms)) break;
  }
  const auto took = std::chrono::duration_cast<milliseconds>(steady::now() - start);
  if (took >= limit) return std::nullopt;
  return took;
}

TEST_F(worker_timeout_test, TricklingClientsNeverDelayValidRequests) {
  auto where = start_tcp();  // socket-timeout 1 s
  std::vector<std::optional<milliseconds>> cut(4);
  std::vector<std::thread> lorises;
  for (auto& slot : cut) {
    lorises.emplace_back([&where, &slot] { slot = trickle_until_closed(where, 3s); });
  }
  ASSERT_TRUE(eventually([&] { return worker_->connection_count() == 4; }));  // all trickling
  raw_socket c(where);
  for (int i = 0; i < 20; ++i) {
    const auto start = steady::now();
    ASSERT_TRUE(c.send(message_packet(0, value(i))));
    auto reply = c.read_packet(1s);
    ASSERT_TRUE(reply) << i;
    EXPECT_EQ(reply_value(*reply), value(i));
    EXPECT_LT(steady::now() - start, 200ms) << "request " << i << " was delayed";
    std::this_thread::sleep_for(20ms);  // requests spread over the lorises' time
  }
  for (auto& t : lorises) t.join();
  for (const auto& took : cut) {
    ASSERT_TRUE(took) << "a trickling connection was never closed";
    EXPECT_GE(*took, 900ms);
    EXPECT_LT(*took, 1600ms);
  }
}

TEST_F(worker_timeout_test, StalledRequestIsClosedAfterSocketTimeout) {
  auto where = start_tcp();
  raw_socket c(where);
  const auto start = steady::now();
  ASSERT_TRUE(c.send(wire::bytes{33, 10, 0, 0, 1, 2}));  // 10 announced, 2 sent
  EXPECT_TRUE(c.closed_by_peer(3s));
  EXPECT_GE(steady::now() - start, 900ms);
  EXPECT_LT(steady::now() - start, 1600ms);
  EXPECT_TRUE(eventually([&] { return worker_->connection_count() == 0; }));
}

TEST_F(worker_timeout_test, SilentNewConnectionIsClosedAfterSocketTimeout) {
  raw_socket c(start_tcp());
  const auto start = steady::now();
  EXPECT_TRUE(c.closed_by_peer(3s));
  EXPECT_GE(steady::now() - start, 900ms);
}

TEST_F(worker_timeout_test, IdleKeptAliveConnectionIsClosedAfterKeepaliveTimeout) {
  cfg_.keepalive_timeout = 1500ms;
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(message_packet(0, value(1))));
  ASSERT_TRUE(c.read_packet());
  const auto start = steady::now();
  EXPECT_TRUE(c.closed_by_peer(3s));
  EXPECT_GE(steady::now() - start, 1400ms);
  EXPECT_LT(steady::now() - start, 2200ms);
}

TEST_F(worker_timeout_test, ShortKeepaliveTimeoutIsHonoured) {
  cfg_.keepalive_timeout = 300ms;  // shorter than socket-timeout
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(message_packet(0, value(1))));
  ASSERT_TRUE(c.read_packet());
  const auto start = steady::now();
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_GE(steady::now() - start, 250ms);
  EXPECT_LT(steady::now() - start, 800ms);
}

}  // namespace
}  // namespace brood::test

// Bad input against a real node: slowloris, oversize, garbage, unknown modifiers. After each, the
// node answers a valid request.
#include <atomic>
#include <chrono>
#include <thread>

#include "brood/client/client.hpp"
#include "brood/wire/message.hpp"
#include "node_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;
using wire::value;

class robustness_test : public node_fixture {};

TEST_F(robustness_test, SlowlorisDoesNotDelayValidRequests) {
  // 4 trickling connections against 2 workers: the uWSGI 2.0 failure case.
  auto address = start_node({"--master", "--processes", "2", "--socket-timeout", "2"});
  std::atomic<bool> stop{false};
  std::atomic<int> cut{0}, sent{0};
  std::vector<std::thread> lorises;
  for (int i = 0; i < 4; ++i) {
    lorises.emplace_back([&] {
      raw_socket s(address);
      auto packet = message_packet(0, value(std::string(200, 'x')));
      for (std::size_t b = 0; b < packet.size() && !stop; ++b) {
        if (!s.send(wire::bytes_view(&packet[b], 1))) {
          ++cut;
          return;
        }
        ++sent;
        std::this_thread::sleep_for(100ms);  // the trickle: one byte every 100 ms
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return sent.load() >= 8; }));  // every loris trickling
  for (int i = 0; i < 20; ++i) {
    auto start = steady_clock::now();
    EXPECT_TRUE(fresh_echo(address, value(i), 2s)) << i;
    EXPECT_LT(steady_clock::now() - start, 300ms) << "request " << i << " was delayed";
  }
  // The server drops the trickling connections after socket-timeout (2 s): their sends fail.
  eventually([&] { return cut.load() == 4; }, 5s);
  stop = true;
  for (auto& t : lorises) t.join();
  EXPECT_EQ(cut.load(), 4) << node().all_output();
}

TEST_F(robustness_test, StalledClientIsDroppedAfterSocketTimeout) {
  auto address = start_node({"--socket-timeout", "1"});
  raw_socket s(address);
  const wire::bytes half{33, 10, 0, 0, 1, 2};  // header announces 10 bytes, 2 arrive
  ASSERT_TRUE(s.send(half));
  auto start = steady_clock::now();
  EXPECT_TRUE(s.closed_by_peer(5s));
  EXPECT_LT(steady_clock::now() - start, 3s);
  EXPECT_TRUE(echo_ok(address));
}

TEST_F(robustness_test, OversizePacketIsRefusedWithAnError) {
  auto address = start_node();
  raw_socket s(address);
  const wire::bytes header{33, 0x88, 0x13, 0};  // 5000 > buffer-size 4096
  ASSERT_TRUE(s.send(header));
  auto r = s.read_packet(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->head.modifier1, 255);
  EXPECT_EQ(r->head.modifier2, 0);
  auto info = wire::decode_error_reply(r->payload, wire::limits{});
  EXPECT_NE(info.message.find("5000"), std::string::npos) << info.message;
  EXPECT_TRUE(s.closed_by_peer(2s));
  // The log line is read from the node's stderr by another thread: wait for it.
  EXPECT_TRUE(node().wait_for_line(std::regex("invalid request block size: 5000"), 5s))
      << node().all_output();
  EXPECT_TRUE(echo_ok(address));
}

TEST_F(robustness_test, BufferSizeOptionRaisesTheLimit) {
  auto address = start_node({"--buffer-size", "32768"});
  std::string big(20000, 'b');
  auto r = client::send_message(address, 33, 0, value(big), 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, value(big));
}

TEST_F(robustness_test, GarbageMsgpackGetsAnErrorReply) {
  auto address = start_node();
  raw_socket s(address);
  const wire::bytes garbage{33, 5, 0, 0, 0xc1, 0xc1, 0xff, 0x00, 0x93};
  ASSERT_TRUE(s.send(garbage));
  auto r = s.read_packet(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->head.modifier1, 255);
  EXPECT_EQ(r->head.modifier2, 0);
  EXPECT_TRUE(echo_ok(address));
}

TEST_F(robustness_test, RandomBytesThenCloseLeaveTheNodeServing) {
  auto address = start_node({"--master", "--processes", "2"});
  std::uint32_t seed = 12345;
  for (int round = 0; round < 50; ++round) {
    raw_socket s(address);
    wire::bytes junk(1 + round * 7 % 300);
    for (auto& b : junk) b = static_cast<wire::byte>((seed = seed * 1103515245 + 12345) >> 16);
    s.send(junk);
  }
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fresh_echo(address, value(i), 2s));
}

TEST_F(robustness_test, UnknownModifierClosesTheConnectionWithoutReply) {
  auto address = start_node();
  raw_socket s(address);
  const wire::bytes unknown{42, 0, 0, 0};
  ASSERT_TRUE(s.send(unknown));
  EXPECT_TRUE(s.closed_by_peer(2s));
  EXPECT_TRUE(node().wait_for_line(std::regex("unavailable modifier requested: 42"), 2s))
      << node().all_output();
  EXPECT_TRUE(echo_ok(address));
}

}  // namespace
}  // namespace brood::testing

// Round trips against a real node: ping, messages, keep-alive and one-shot clients.
#include <chrono>

#include "brood/client/client.hpp"
#include "node_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

using wire::value;

class message_test : public node_fixture {};

TEST_F(message_test, PingIsAnsweredAsUwsgiDoes) {
  auto address = start_node({"--master", "--processes", "2"});
  raw_socket s(address);
  ASSERT_TRUE(s.connected());
  const wire::bytes ping{100, 0, 0, 0};
  ASSERT_TRUE(s.send(ping));
  auto r = s.read_packet(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->head, (wire::header{100, 0, 1}));
  auto p = client::ping(address, 2s);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p, "");
}

TEST_F(message_test, MessageRoundTripThroughCppHandler) {
  auto address = start_node({"--master", "--processes", "2"});
  value nested(wire::map{{value("list"), value(wire::array{value(1), value(-2), value(3.5)})},
                         {value("bin"), value(wire::binary{{0, 1, 2, 255}})},
                         {value("nil"), value()}});
  auto echo = client::send_message(address, 33, 0, nested, 2s);
  ASSERT_TRUE(echo) << echo.error().message;
  EXPECT_EQ(*echo, nested);

  auto primes = client::send_message(address, 33, 17, value(wire::array{value(0), value(100)}), 5s);
  ASSERT_TRUE(primes) << primes.error().message;
  ASSERT_TRUE(primes->is<wire::map>());
  bool found = false;
  for (auto& [k, v] : primes->as<wire::map>()) {
    if (k == value("count")) {
      EXPECT_EQ(v, value(25));
      found = true;
    }
  }
  EXPECT_TRUE(found) << wire::to_string(*primes);
}

TEST_F(message_test, HandlerErrorArrivesAsRemoteError) {
  auto address = start_node();
  auto r = client::send_message(address, 33, 17, value("not a range"), 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::remote);
  EXPECT_FALSE(r.error().message.empty());
  // and the node keeps serving
  EXPECT_TRUE(echo_ok(address));
}

TEST_F(message_test, KeepAliveServesManyRequestsOnOneConnection) {
  auto address = start_node({"--master", "--processes", "2"});
  raw_socket s(address);
  ASSERT_TRUE(s.connected());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s.send(message_packet(0, value(i))));
    auto r = s.read_packet(2s);
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->head.modifier1, 33);
  }
}

TEST_F(message_test, OneShotClientsThatCloseAfterEachReplyWork) {
  auto address = start_node({"--master", "--processes", "2"});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(fresh_echo(address, value(wire::array{value(i), value("x")}), 2s)) << i;
  }
}

TEST_F(message_test, SyncClientReusesItsConnection) {
  auto address = start_node();
  for (int i = 0; i < 50; ++i) {
    auto r = client::send_message(address, 33, 0, value(i), 2s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, value(i));
  }
}

TEST_F(message_test, UnixSocketNode) {
  const temp_dir dir("brood-it-");
  std::string path = dir / "node.sock";
  nodes_.push_back(std::make_unique<node_process>(
      BROOD_PRIMES_NODE, std::vector<std::string>{"--socket", path, "--master"}));
  ASSERT_TRUE(node().wait_ready()) << node().all_output();
  auto r = client::send_message(path, 33, 0, value("over unix"), 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, value("over unix"));
  node().signal(SIGTERM);
  EXPECT_TRUE(node().wait_exit(10s));
}

}  // namespace
}  // namespace brood::testing

// The router's kept-alive upstream connections to brood nodes (docs/protocol.md §6.1): requests go
// on kept connections with BROOD_KEEPALIVE=1 only to nodes that subscribed with keepalive=1, the
// framing is stripped (the client sees the node's answer bytes), a node closing a kept connection
// is no failure, and bodies stream through both ways.
#include <gtest/gtest.h>

#include <future>

#include "fake_node.hpp"
#include "kept_node.hpp"
#include "router_fixture.hpp"

namespace brood::testing {
namespace {

using keepalive_test = router_fixture;

TEST_F(keepalive_test, RequestsReuseOneKeptConnectionAndTheClientSeesPlainAnswers) {
  start({});
  kept_node k("K");
  subscribe({.key = "k", .address = k.address(), .keepalive = true});
  for (int i = 1; i <= 20; ++i)
    ASSERT_EQ(get("k"), "K ka=1 n=" + std::to_string(i) + " body=0\n") << i;
  EXPECT_EQ(k.accepts(), 1);
  EXPECT_EQ(k.requests(), 20);
}

TEST_F(keepalive_test, ANodeWithoutTheKeyGetsPlainRequestsOnFreshConnections) {
  start({});
  kept_node k("K");
  subscribe({.key = "k", .address = k.address()});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(get("k"), "K ka=0 n=1 body=0\n") << i;
  EXPECT_EQ(k.accepts(), 5);
}

TEST_F(keepalive_test, ANodeClosingItsKeptConnectionsIsNoFailure) {
  start({});
  kept_node k("K", /*close_after_answer=*/true);
  subscribe({.key = "k", .address = k.address(), .keepalive = true});
  for (int i = 0; i < 20; ++i) ASSERT_EQ(get("k"), "K ka=1 n=1 body=0\n") << i;
  EXPECT_EQ(k.requests(), 20);
  EXPECT_TRUE(on_io([&] {
    router::node_ref n = server_->subscriptions().find("k", k.address());
    return n && !n->death_mark && n->failcnt == 0;
  }));
}

TEST_F(keepalive_test, AKeptConnectionFoundDeadIsRetriedOnAFreshOne) {
  start({});
  std::string address;
  {
    kept_node first("A");
    address = first.address();
    subscribe({.key = "k", .address = address, .keepalive = true});
    ASSERT_EQ(get("k"), "A ka=1 n=1 body=0\n");
  }  // the node goes away with the router's kept connection
  fake_node other("B");
  subscribe({.key = "k", .address = other.address()});
  // The kept connection is dead and the node refuses: marked, the request goes to B.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(who(get("k")), "B") << i;
}

TEST_F(keepalive_test, ABigBodyStreamsBothWaysThroughAKeptConnection) {
  start({});
  kept_node k("K");
  subscribe({.key = "k", .address = k.address(), .keepalive = true});
  std::string body(4 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 + i / 4096);
  // A request too big to be sent again takes a fresh kept connection (a reused one may have been
  // closed by its node meanwhile); the connection is kept afterwards.
  for (int round = 1; round <= 2; ++round) {
    const std::string answer = request({{"HTTP_HOST", "k"}}, body);
    const std::string head = "K ka=1 n=1 body=" + std::to_string(body.size()) + "\n";
    ASSERT_EQ(answer.size(), head.size() + body.size());
    EXPECT_EQ(answer.substr(0, head.size()), head);
    EXPECT_TRUE(answer.compare(head.size(), std::string::npos, body) == 0);
  }
  EXPECT_EQ(get("k"), "K ka=1 n=2 body=0\n");
  EXPECT_EQ(k.accepts(), 2);
}

TEST_F(keepalive_test, ConcurrentRequestsEachTakeTheirOwnKeptConnection) {
  start({});
  kept_node k("K");
  subscribe({.key = "k", .address = k.address(), .keepalive = true});
  for (int round = 0; round < 5; ++round) {
    std::vector<std::future<std::string>> answers;
    for (int i = 0; i < 4; ++i)
      answers.push_back(std::async(std::launch::async, [&] { return get("k"); }));
    for (auto& a : answers) EXPECT_EQ(a.get().substr(0, 7), "K ka=1 ");
  }
  EXPECT_LE(k.accepts(), 20);
  EXPECT_EQ(k.requests(), 20);
}

}  // namespace
}  // namespace brood::testing

// The router end to end in-process: fake nodes, subscription datagrams, requests through it.
#include <gtest/gtest.h>

#include <sys/un.h>

#include <cstdio>
#include <map>

#include "fake_node.hpp"
#include "router_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

using router_test = router_fixture;

TEST_F(router_test, RoutesByEachKeySourceAndRewritesTheModifiers) {
  start({});
  fake_node a("A"), b("B"), c("C");
  subscribe({"a.test", a.address(), 1, 5, 7});
  subscribe({"b.test", b.address()});
  subscribe({"c.test", c.address()});
  EXPECT_EQ(get("a.test"), "A m1=5 m2=7 host=a.test body=0\n");
  EXPECT_EQ(who(request({{"HTTP_HOST", "a.test"}, {"UWSGI_FASTROUTER_KEY", "b.test"}})), "B");
  EXPECT_EQ(who(request({{"SERVER_NAME", "c.test"}})), "C");
  EXPECT_EQ(who(request({{"SERVER_NAME", "c.test"}, {"HTTP_HOST", "b.test"}})), "B");
}

TEST_F(router_test, NoNodeForTheKeyClosesWithoutAnAnswer) {
  start({});
  EXPECT_EQ(get("nobody.test"), "");
  EXPECT_EQ(request({{"PATH_INFO", "/"}}), "");
}

TEST_F(router_test, DotsplitAndTheFallbackKey) {
  router::router_config cfg;
  cfg.dotsplit = true;
  cfg.fallback_key = "default";
  start(cfg);
  fake_node d("D"), f("F");
  subscribe({".example.test", d.address()});
  subscribe({"default", f.address()});
  EXPECT_EQ(who(get("www.example.test")), "D");
  EXPECT_EQ(who(get("a.b.example.test")), "D");
  EXPECT_EQ(who(get("other.test")), "F");
}

TEST_F(router_test, WithoutDotsplitOnlyTheWholeKeyMatches) {
  start({});
  fake_node d("D");
  subscribe({".example.test", d.address()});
  EXPECT_EQ(get("www.example.test"), "");
}

TEST_F(router_test, WrrSpreadsRequestsByWeight) {
  start({});
  fake_node a("A"), b("B"), c("C");
  subscribe({"k", a.address(), 1});
  subscribe({"k", b.address(), 1});
  subscribe({"k", c.address(), 2});
  std::map<std::string, int> count;
  for (int i = 0; i < 40; ++i) ++count[who(get("k"))];
  EXPECT_EQ(count["A"], 10);
  EXPECT_EQ(count["B"], 10);
  EXPECT_EQ(count["C"], 20);
}

TEST_F(router_test, ARefusingNodeIsMarkedAndTheRequestRetriedElsewhere) {
  start({});
  fake_node b("B");
  const std::string dead = dead_address();
  subscribe({"k", dead});
  subscribe({"k", b.address()});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(who(get("k")), "B") << i;
  EXPECT_FALSE(on_io([&] { return server_->subscriptions().find("k", dead) != nullptr; }));
}

TEST_F(router_test, ANodeDyingBeforeAnsweringIsRetriedElsewhere) {
  start({});
  fake_node dying("X", fake_node::mode::die), b("B");
  subscribe({"k", dying.address()});
  subscribe({"k", b.address()});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(who(get("k")), "B") << i;
}

TEST_F(router_test, UnsubscribeWhileARequestRunsLetsItFinish) {
  start({});
  fake_node held("H", fake_node::mode::hold);
  subscribe({"k", held.address()});
  auto answer = std::async(std::launch::async, [&] { return get("k"); });
  ASSERT_TRUE(eventually([&] { return held.requests() == 1; }));
  subscribe({"k", held.address(), 1, 0, 0, true});
  auto state = on_io([&] {
    router::node_ref n = server_->subscriptions().find("k", held.address());
    return std::make_pair(n != nullptr, n ? n->references : 0);
  });
  EXPECT_TRUE(state.first);  // death-marked, still referenced
  EXPECT_EQ(state.second, 1u);
  EXPECT_EQ(get("k"), "");  // no live node for new requests
  held.release();
  EXPECT_EQ(who(answer.get()), "H");
  EXPECT_TRUE(eventually([&] {
    return on_io([&] { return server_->subscriptions().find("k", held.address()) == nullptr; });
  }));
}

TEST_F(router_test, ABigBodyStreamsBothWays) {
  start({});
  fake_node a("A");
  subscribe({"k", a.address()});
  std::string body(8 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 + i / 4096);
  const std::string answer = request({{"HTTP_HOST", "k"}}, body);
  const std::string head = "A m1=0 m2=0 host=k body=" + std::to_string(body.size()) + "\n";
  ASSERT_EQ(answer.size(), head.size() + body.size());
  EXPECT_EQ(answer.substr(0, head.size()), head);
  EXPECT_TRUE(answer.compare(head.size(), std::string::npos, body) == 0);
}

TEST_F(router_test, BadDatagramsAreDroppedAndRoutingGoesOn) {
  start({});
  fake_node a("A");
  subscribe({"k", a.address()});
  send_datagram({224, 5, 0, 0, 1, 2});  // size does not match
  send_datagram({224, 0, 0, 0});        // no key, no address
  wire::bytes unknown = {224, 0, 0, 0, 3, 0, 'f', 'o', 'o', 1, 0, 'x'};
  unknown[1] = static_cast<std::uint8_t>(unknown.size() - 4);
  send_datagram(unknown);  // unknown key
  fake_node b("B");
  subscribe({"k2", b.address()});  // processed after the bad ones
  EXPECT_EQ(who(get("k")), "A");
  EXPECT_EQ(who(get("k2")), "B");
}

TEST_F(router_test, NodesExpireAfterTheTolerance) {
  router::router_config cfg;
  cfg.tolerance = std::chrono::seconds(1);
  start(cfg);
  fake_node a("A");
  subscribe({"k", a.address()});
  EXPECT_EQ(who(get("k")), "A");
  EXPECT_TRUE(eventually([&] { return get("k").empty(); }, 5s, 100ms));
  EXPECT_FALSE(on_io([&] { return server_->subscriptions().find("k", a.address()) != nullptr; }));
}

TEST_F(router_test, StaticNodesTakeWhatNoSubscriptionTakes) {
  fake_node s1("S1"), s2("S2"), a("A");
  router::router_config cfg;
  cfg.static_nodes = {s1.address(), s2.address()};
  start(cfg);
  subscribe({"k", a.address()});
  EXPECT_EQ(who(get("k")), "A");
  std::map<std::string, int> count;
  for (int i = 0; i < 4; ++i) ++count[who(get("other"))];
  EXPECT_EQ(count["S1"], 2);
  EXPECT_EQ(count["S2"], 2);
}

TEST_F(router_test, AUnixDatagramSubscriptionServer) {
  temp_dir dir("brood_router_unix_");
  const std::string path = dir.path() + "/sub.sock";
  router::router_config cfg;
  cfg.subscription_servers = {path};
  start(cfg);
  EXPECT_EQ(server_->subscription_names()[0], path);
  fake_node a("A");
  const wire::bytes d = encode({"u.test", a.address()});
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::snprintf(to.sun_path, sizeof to.sun_path, "%s", path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(d.size()));
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return who(get("u.test")) == "A"; }));
}

TEST_F(router_test, ABadRequestIsClosedAndRoutingGoesOn) {
  start({});
  fake_node a("A");
  subscribe({"k", a.address()});
  {
    raw_socket s(address());  // vars block over buffer-size (4096)
    ASSERT_TRUE(s.send(wire::bytes{0, 0x88, 0x13, 0}));
    EXPECT_TRUE(s.closed_by_peer());
  }
  {
    raw_socket s(address());  // a record longer than its block
    ASSERT_TRUE(s.send(wire::bytes{0, 4, 0, 0, 9, 0, 'a', 'b'}));
    EXPECT_TRUE(s.closed_by_peer());
  }
  EXPECT_EQ(who(get("k")), "A");
}

TEST_F(router_test, StatsHaveUwsgisKeys) {
  start({});
  fake_node a("A");
  subscribe({"foo.it", a.address(), 3});
  EXPECT_EQ(who(get("foo.it")), "A");
  raw_socket s(stats_address());
  ASSERT_TRUE(s.connected());
  const std::string doc = s.read_to_eof().value_or("");
  for (const char* k : {"\"version\"",
                        "\"pid\"",
                        "\"active_sessions\"",
                        "\"fastrouter\"",
                        "\"subscriptions\"",
                        "\"key\": \"foo.it\"",
                        "\"hash\": 14074",
                        "\"hits\": 1",
                        "\"nodes\"",
                        "\"name\"",
                        "\"modifier1\"",
                        "\"last_check\"",
                        "\"requests\": 1",
                        "\"tx\"",
                        "\"rx\"",
                        "\"weight\": 3",
                        "\"wrr\"",
                        "\"ref\": 0",
                        "\"failcnt\": 0",
                        "\"death_mark\": 0",
                        "\"cheap\": 0"})
    EXPECT_NE(doc.find(k), std::string::npos) << k << " in " << doc;
}

}  // namespace
}  // namespace brood::testing

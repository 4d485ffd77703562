#pragma once
// router_fixture: a router_server on its own io_context thread, with helpers to send subscription
// datagrams (UDP) and uwsgi requests through it, and to look at its table from its thread.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "brood/router/router.hpp"
#include "brood/wire/subscription.hpp"
#include "eventually.hpp"
#include "raw_socket.hpp"

namespace brood::testing {

struct sub_spec {
  std::string key;
  std::string address;
  std::uint64_t weight = 1;
  std::uint8_t modifier1 = 0, modifier2 = 0;
  bool unsubscribe = false;
  bool keepalive = false;  // brood extension: answers framed on kept connections
};

class router_fixture : public ::testing::Test {
 protected:
  void TearDown() override { stop(); }

  void start(router::router_config cfg) {
    cfg.sockets = {"127.0.0.1:0"};
    if (cfg.subscription_servers.empty()) cfg.subscription_servers = {"127.0.0.1:0"};
    if (cfg.stats.empty()) cfg.stats = "127.0.0.1:0";
    auto s = router::router_server::open(cfg, io_);
    ASSERT_TRUE(s.ok()) << s.error().message();
    server_ = std::move(*s);
    work_.emplace(asio::make_work_guard(io_));
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    on_io([this] { server_->close(); });
    work_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
  }

  template <class F>
  auto on_io(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io_, [&task] { task(); });
    return f.get();
  }

  const std::string& address() const { return server_->socket_names()[0]; }
  const std::string& stats_address() const { return server_->stats_name(); }

  // Sends `datagram` to the router's subscription server.
  void send_datagram(const wire::bytes& d) {
    const std::string& to = server_->subscription_names()[0];
    const std::size_t colon = to.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(to.substr(colon + 1))));
    ::inet_pton(AF_INET, to.substr(0, colon).c_str(), &a.sin_addr);
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(fd);
  }
  static wire::bytes encode(const sub_spec& s) {
    wire::subscription w;
    w.key = s.key;
    w.address = s.address;
    w.weight = s.weight;
    w.modifier1 = s.modifier1;
    w.modifier2 = s.modifier2;
    w.cores = 1;
    w.unsubscribe = s.unsubscribe;
    w.keepalive = s.keepalive;
    wire::bytes out;
    EXPECT_FALSE(wire::encode_subscription(w, out));
    return out;
  }
  // Subscribes and waits until the table shows it (or, for an unsubscribe, its death mark).
  void subscribe(const sub_spec& s) {
    send_datagram(encode(s));
    ASSERT_TRUE(eventually([&] {
      return on_io([&] {
        router::node_ref n = server_->subscriptions().find(s.key, s.address);
        return s.unsubscribe ? (!n || n->death_mark) : (n && !n->death_mark);
      });
    }));
  }

  // One uwsgi request with `vars` (and `body`, as CONTENT_LENGTH) through the router; the whole
  // answer ("" when the router closes without one).
  std::string request(std::vector<std::pair<std::string, std::string>> vars,
                      const std::string& body = "") {
    if (!body.empty()) vars.emplace_back("CONTENT_LENGTH", std::to_string(body.size()));
    wire::bytes block;
    std::vector<wire::var> v;
    for (auto& [k, val] : vars) v.push_back({k, val});
    EXPECT_FALSE(wire::append_vars(block, v));
    wire::bytes packet;
    EXPECT_FALSE(wire::append_packet(packet, 0, 0, block));
    packet.insert(packet.end(), body.begin(), body.end());
    raw_socket s(address());
    if (!s.connected() || !s.send(packet)) return "<send failed>";
    return s.read_to_eof(10s).value_or("<read failed>");
  }
  std::string get(const std::string& host) { return request({{"HTTP_HOST", host}}); }

  asio::io_context io_;
  std::unique_ptr<router::router_server> server_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

// "NAME" of a fake node's answer (its first word).
inline std::string who(const std::string& answer) { return answer.substr(0, answer.find(' ')); }

}  // namespace brood::testing

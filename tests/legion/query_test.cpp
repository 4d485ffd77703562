// query_member (`brood legion ADDR`) against a scripted member: a ZeroMQ ROUTER in this process
// that checks the query as a member would and answers with a view, with garbage, or not at all.
#include "brood/legion/query.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "brood/legion/message.hpp"

namespace brood::legion {
namespace {

using namespace std::chrono_literals;

legion_view sample_view() {
  legion_view v;
  v.legion = "web";
  v.address = "127.0.0.1:4001";
  v.uuid = "11111111-1111-4111-8111-111111111111";
  v.valor = 30;
  v.backend = "zeromq";
  v.quorum = 2;
  v.i_am_the_lord = true;
  v.epoch = 7;
  v.lord_uuid = v.uuid;
  v.lord_address = v.address;
  v.lord_valor = 30;
  v.lord_scroll = "alpha";
  member_view m;
  m.address = "127.0.0.1:4002";
  m.name = "host2";
  m.uuid = "22222222-2222-4222-8222-222222222222";
  m.valor = 20;
  m.alive = true;
  m.last_seen_unix = 1700000000;
  v.members.push_back(m);
  return v;
}

// What the scripted member does with a query.
enum class behaviour { answer, garbage, wrong_key, silent };

class fake_member {
 public:
  fake_member(behaviour b, const std::string& secret) : b_(b), key_(derive_key("web", secret)) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:*");
    const std::string ep = router_.get(zmq::sockopt::last_endpoint);
    address_ = ep.substr(ep.find("//") + 2);
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_member() {
    stop_ = true;
    thread_.join();
  }
  const std::string& address() const { return address_; }
  int queries() const { return queries_.load(); }
  std::string why() const {
    std::lock_guard<std::mutex> l(mu_);
    return why_;
  }

 private:
  void serve() {
    while (!stop_) {
      zmq::pollitem_t it[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(it, 1, 20ms);
      if ((it[0].revents & ZMQ_POLLIN) == 0) continue;
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(router_, std::back_inserter(parts)) || parts.size() != 2) continue;
      message q;
      const auto d = decode_message(
          {static_cast<const std::uint8_t*>(parts[1].data()), parts[1].size()}, key_, {}, q);
      if (!d.ok || q.type != message_type::query || q.legion != "web") {
        std::lock_guard<std::mutex> l(mu_);
        why_ = d.ok ? "not a query" : d.why;
        continue;  // dropped, as a member does
      }
      ++queries_;
      if (b_ == behaviour::silent) continue;
      message a;
      a.type = message_type::view;
      a.legion = "web";
      a.from = "127.0.0.1:4001";
      a.uuid = sample_view().uuid;
      a.seq = 1;
      a.ref = q.seq;
      a.payload = b_ == behaviour::garbage ? "{not json" : to_json(sample_view()).dump();
      const key k = b_ == behaviour::wrong_key ? derive_key("web", "other") : key_;
      const std::vector<std::uint8_t> frame = encode_message(a, k);
      router_.send(parts[0], zmq::send_flags::sndmore);
      router_.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
    }
  }

  behaviour b_;
  key key_;
  zmq::context_t ctx_{1};
  zmq::socket_t router_{ctx_, zmq::socket_type::router};
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  mutable std::mutex mu_;
  std::string why_;
  std::thread thread_;
};

query_request request(const std::string& address, const std::string& secret,
                      std::chrono::milliseconds timeout = 5000ms) {
  query_request r;
  r.address = address;
  r.legion = "web";
  r.secret = secret;
  r.timeout = timeout;
  return r;
}

TEST(legion_query_test, TheMembersViewComesBack) {
  fake_member m(behaviour::answer, "aes-128-cbc:s3cr3t");
  const query_answer a = query_member(request(m.address(), "aes-128-cbc:s3cr3t"));
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.view.legion, "web");
  EXPECT_TRUE(a.view.i_am_the_lord);
  EXPECT_EQ(a.view.epoch, 7u);
  EXPECT_EQ(a.view.quorum, 2u);
  EXPECT_EQ(a.view.lord_scroll, "alpha");
  ASSERT_EQ(a.view.members.size(), 1u);
  EXPECT_EQ(a.view.members[0].address, "127.0.0.1:4002");
  EXPECT_TRUE(a.view.members[0].alive);
  EXPECT_EQ(nlohmann::json::parse(a.json)["epoch"], 7);
}

TEST(legion_query_test, AnotherSecretGetsNoAnswerAndSaysWhy) {
  fake_member m(behaviour::answer, "right");
  const query_answer a = query_member(request(m.address(), "wrong", 1500ms));
  ASSERT_FALSE(a.ok);
  EXPECT_NE(a.error.find("no answer from " + m.address()), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("secret differs"), std::string::npos) << a.error;
  EXPECT_EQ(m.queries(), 0);
  EXPECT_EQ(m.why().rfind("bad mac", 0), 0u) << m.why();
}

TEST(legion_query_test, AnAnswerUnderAnotherKeyIsRefused) {
  fake_member m(behaviour::wrong_key, "s");
  const query_answer a = query_member(request(m.address(), "s", 1500ms));
  ASSERT_FALSE(a.ok);
  EXPECT_NE(a.error.find("failed authentication: bad mac"), std::string::npos) << a.error;
}

TEST(legion_query_test, AnAnswerWithoutAViewIsAnError) {
  fake_member m(behaviour::garbage, "s");
  const query_answer a = query_member(request(m.address(), "s"));
  ASSERT_FALSE(a.ok);
  EXPECT_NE(a.error.find("holds no view"), std::string::npos) << a.error;
}

TEST(legion_query_test, NothingListeningIsNamed) {
  std::string address;
  {
    zmq::context_t ctx(1);
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:*");
    const std::string ep = s.get(zmq::sockopt::last_endpoint);
    address = ep.substr(ep.find("//") + 2);
  }  // closed: nothing listens there now
  const query_answer a = query_member(request(address, "s", 800ms));
  ASSERT_FALSE(a.ok);
  EXPECT_NE(a.error.find("cannot connect to " + address), std::string::npos) << a.error;
}

TEST(legion_query_test, ABadAddressIsNamed) {
  const query_answer a = query_member(request("no-port", "s", 100ms));
  ASSERT_FALSE(a.ok);
  EXPECT_NE(a.error.find("bad address 'no-port'"), std::string::npos) << a.error;
}

}  // namespace
}  // namespace brood::legion

// The ZeroMQ backend under `members` (legion/src/zmq_backend.cpp, zmq_transport.cpp): three
// members in this test process (one of them in a forked child, to be SIGKILLed) on loopback
// ports: election of the highest valor, failover after a graceful stop and after a SIGKILL,
// bad, replayed and foreign messages dropped and logged, `query` answered with the view.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>

#include <gtest/gtest.h>

#include "brood/legion/member.hpp"
#include "brood/legion/message.hpp"
#include "brood/legion/view.hpp"
#include "eventually.hpp"
#include "legion_fixture.hpp"
#include "node_process.hpp"

namespace brood::legion {
namespace {

using brood::testing::eventually;
using namespace std::chrono_literals;

constexpr auto slack = 20s;  // elections take well under a second; a loaded machine is slower

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

class zmq_member_test : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) ports.push_back(testing::free_port());
  }

  std::unique_ptr<members> start(std::size_t index, std::int64_t valor,
                                 const std::string& secret = "aes-128-cbc:s3cr3t") {
    std::string error;
    auto m = members::start(testing::member_config("web", ports, index, valor, secret), {}, nullptr,
                            error);
    EXPECT_TRUE(m) << error;
    return m;
  }

  std::string address(std::size_t i) const { return "127.0.0.1:" + std::to_string(ports[i]); }

  std::vector<std::uint16_t> ports;
};

TEST_F(zmq_member_test, HighestValorBecomesLordWithOneEpoch) {
  auto a = start(0, 1), b = start(1, 3), c = start(2, 2);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(eventually([&] { return b->i_am_the_lord("web"); }, slack));
  const std::uint64_t epoch = b->epoch("web");
  EXPECT_GE(epoch, 1u);
  EXPECT_FALSE(a->i_am_the_lord("web"));
  EXPECT_FALSE(c->i_am_the_lord("web"));
  ASSERT_TRUE(eventually(
      [&] {
        const legion_view va = a->views().at(0), vc = c->views().at(0);
        return va.lord_address == address(1) && vc.lord_address == address(1) &&
               va.epoch == epoch && vc.epoch == epoch;
      },
      slack));
  const legion_view v = a->views().at(0);
  EXPECT_EQ(v.backend, "zeromq");
  EXPECT_EQ(v.quorum, 2u);
  ASSERT_EQ(v.members.size(), 2u);
  for (const member_view& m : v.members) EXPECT_TRUE(m.alive) << m.address;
}

TEST_F(zmq_member_test, GracefulStopOfTheLordElectsTheNextWithAHigherEpoch) {
  auto a = start(0, 1), b = start(1, 3), c = start(2, 2);
  ASSERT_TRUE(eventually([&] { return b->i_am_the_lord("web"); }, slack));
  const std::uint64_t epoch = b->epoch("web");
  b.reset();  // resigns and says `dead`
  ASSERT_TRUE(eventually([&] { return c->i_am_the_lord("web"); }, slack));
  EXPECT_GT(c->epoch("web"), epoch);
  EXPECT_FALSE(a->i_am_the_lord("web"));
}

TEST_F(zmq_member_test, SigkilledLordIsReplaced) {
  brood::testing::node_process lord;  // the highest valor, in a process of its own
  const config cfg = testing::member_config("web", ports, 1, 3);
  lord.start([cfg] {
    std::string error;
    auto m = members::start(cfg, {}, nullptr, error);
    if (!m) return 1;
    for (;;) ::pause();
  });
  auto a = start(0, 1), c = start(2, 2);
  ASSERT_TRUE(lord.wait_for("legion 'web': lord (epoch", 1, slack)) << lord.all_output();
  ASSERT_TRUE(eventually([&] { return a->views().at(0).lord_address == address(1); }, slack));
  const std::uint64_t epoch = a->epoch("web");
  EXPECT_FALSE(c->i_am_the_lord("web"));
  lord.kill_all();  // SIGKILL: no resign, no `dead`; its connections close
  ASSERT_TRUE(eventually([&] { return c->i_am_the_lord("web"); }, slack));
  EXPECT_GT(c->epoch("web"), epoch);
  EXPECT_FALSE(a->i_am_the_lord("web"));
}

TEST_F(zmq_member_test, ArbiterVotesButNeverLeads) {
  auto a = start(0, 0), b = start(1, 0), c = start(2, 5);
  ASSERT_TRUE(eventually([&] { return c->i_am_the_lord("web"); }, slack));
  c.reset();
  // Two arbiters are a quorum but no candidate: no lord, ever.
  ASSERT_TRUE(eventually([&] { return a->views().at(0).lord_uuid.empty(); }, slack));
  EXPECT_FALSE(a->i_am_the_lord("web"));
  EXPECT_FALSE(b->i_am_the_lord("web"));
}

TEST_F(zmq_member_test, MinorityHasNoLord) {
  auto a = start(0, 1), b = start(1, 3), c = start(2, 2);
  ASSERT_TRUE(eventually([&] { return b->i_am_the_lord("web"); }, slack));
  a.reset();
  c.reset();
  // Alone, b hears 1 of 3 members: it steps down before its lease could end elsewhere.
  ASSERT_TRUE(eventually([&] { return !b->i_am_the_lord("web"); }, slack));
}

class raw_peer {
 public:
  explicit raw_peer(const std::string& address) : s_(ctx_, zmq::socket_type::dealer) {
    s_.set(zmq::sockopt::linger, 0);
    s_.set(zmq::sockopt::rcvtimeo, 5000);
    s_.connect("tcp://" + address);
  }
  void send(const std::vector<std::uint8_t>& frame) {
    s_.send(zmq::const_buffer(frame.data(), frame.size()), zmq::send_flags::none);
  }
  std::optional<zmq::message_t> receive() {
    zmq::message_t m;
    if (!s_.recv(m)) return std::nullopt;
    return m;
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t s_;
};

message heartbeat_from(std::uint64_t seq, const std::string& uuid) {
  message m;
  m.type = message_type::heartbeat;
  m.legion = "web";
  m.from = "127.0.0.1:1";
  m.uuid = uuid;
  m.seq = seq;
  m.unix_ms = unix_ms();
  m.valor = 1;
  return m;
}

TEST_F(zmq_member_test, BadReplayedAndForeignMessagesAreDroppedAndLogged) {
  ::testing::internal::CaptureStderr();
  {
    auto a = start(0, 1);
    ASSERT_TRUE(a);
    raw_peer p(address(0));
    const key k = derive_key("web", "aes-128-cbc:s3cr3t");
    const std::string uuid = "dddddddd-0000-4000-8000-000000000004";
    p.send({1, 2, 3});                                                        // garbage
    p.send(encode_message(heartbeat_from(1, uuid), derive_key("web", "x")));  // other secret
    message foreign = heartbeat_from(2, uuid);
    foreign.legion = "db";
    p.send(encode_message(foreign, k));  // another legion under the same key
    message skewed = heartbeat_from(3, uuid);
    skewed.unix_ms -= 3'600'000;
    p.send(encode_message(skewed, k));
    p.send(encode_message(heartbeat_from(5, uuid), k));  // accepted
    p.send(encode_message(heartbeat_from(5, uuid), k));  // replay
    // A query is answered with the view (after everything above: one connection, in order).
    message q = heartbeat_from(6, uuid);
    q.type = message_type::query;
    p.send(encode_message(q, k));
    auto answer = p.receive();
    ASSERT_TRUE(answer);
    message v;
    const decode_result r =
        decode_message({answer->data<std::uint8_t>(), answer->size()}, k, decode_limits{}, v);
    ASSERT_TRUE(r.ok) << r.why;
    EXPECT_EQ(v.type, message_type::view);
    const nlohmann::json j = nlohmann::json::parse(v.payload);
    legion_view view;
    ASSERT_TRUE(from_json(j, view)) << v.payload;
    EXPECT_EQ(view.legion, "web");
    EXPECT_EQ(view.address, address(0));
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("legion 'web': dropped a message from 127.0.0.1"), std::string::npos) << err;
  EXPECT_NE(err.find("mac"), std::string::npos) << err;
  EXPECT_NE(err.find("another legion 'db'"), std::string::npos) << err;
  EXPECT_NE(err.find("clock skew"), std::string::npos) << err;
  EXPECT_NE(err.find("replayed seq 5 (last 5)"), std::string::npos) << err;
}

}  // namespace
}  // namespace brood::legion

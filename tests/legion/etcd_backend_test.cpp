// The etcd backend (make_etcd_backend, backend.hpp) against a real etcd started by the test:
// election of the best valor, arbiters, failover after a lord stops or is SIGKILLed, etcd stopped
// and restarted (the lord steps down while it cannot renew, and leads again after), bad endpoints.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "brood/legion/backend.hpp"
#include "brood/legion/message.hpp"
#include "brood/legion/view.hpp"
#include "etcd_server.hpp"
#include "eventually.hpp"

namespace brood::legion {
namespace {

using namespace std::chrono_literals;
using brood::testing::etcd_server;
using brood::testing::eventually;
using steady = std::chrono::steady_clock;

// Who reported lord and not yet unlord: two at once is a failure of the backend.
struct lord_monitor {
  std::mutex m;
  std::string holder;
  int overlaps = 0;
  void event(const std::string& who, hook_event e) {
    std::lock_guard lock(m);
    if (e == hook_event::lord) {
      if (!holder.empty() && holder != who) ++overlaps;
      holder = who;
    } else if (e == hook_event::unlord && holder == who) {
      holder.clear();
    }
  }
};

// One member on a thread of the test.
class runner {
 public:
  runner(legion_config c, lord_monitor& mon) : cfg_(std::move(c)), mon_(mon) {}
  ~runner() { stop(); }

  std::string start(const timing& t = {}) {
    std::string error;
    b_ = make_etcd_backend(cfg_, t, error);
    if (!b_) return error;
    ev_.on_event = [this](const election_event& e) {
      mon_.event(cfg_.address.text(), e.kind);
      std::lock_guard lock(m_);
      events_.push_back({e, steady::now()});
    };
    th_ = std::jthread([this](std::stop_token st) { result_ = b_->run(st, ev_); });
    return {};
  }
  void stop() {
    if (th_.joinable()) {
      th_.request_stop();
      th_.join();
    }
  }
  bool lord() const { return b_ && b_->view().i_am_the_lord; }
  legion_view view() const { return b_->view(); }
  std::string address() const { return cfg_.address.text(); }
  int count(hook_event k, const std::string& who = {}) {
    std::lock_guard lock(m_);
    int n = 0;
    for (const auto& [e, at] : events_) n += e.kind == k && (who.empty() || e.member == who);
    return n;
  }
  // The time and epoch of the last event of kind `k` (nullopt: none).
  std::optional<std::pair<steady::time_point, std::uint64_t>> last(hook_event k) {
    std::lock_guard lock(m_);
    for (auto it = events_.rbegin(); it != events_.rend(); ++it)
      if (it->first.kind == k) return std::make_pair(it->second, it->first.epoch);
    return std::nullopt;
  }
  hook_event last_kind() {
    std::lock_guard lock(m_);
    return events_.back().first.kind;
  }
  const os::status& result() const { return result_; }

 private:
  legion_config cfg_;
  lord_monitor& mon_;
  std::unique_ptr<backend> b_;
  backend_events ev_;
  std::mutex m_;
  std::vector<std::pair<election_event, steady::time_point>> events_;
  os::status result_;
  std::jthread th_;
};

class EtcdBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_server::available()) GTEST_SKIP() << "no " << etcd_server::binary;
    ASSERT_TRUE(etcd_.start()) << etcd_.output();
  }
  void TearDown() override {
    members_.clear();
    EXPECT_EQ(monitor_.overlaps, 0) << "two members reported lord at once";
  }

  legion_config config(std::int64_t valor, std::uint16_t port = 0) {
    legion_config c;
    c.name = "web";
    c.address = {"127.0.0.1", port ? port : etcd_server::free_port()};
    c.valor = valor;
    c.secret = "s3cr3t";
    c.etcd_endpoints = etcd_.endpoint();
    return c;
  }
  runner& add(legion_config c) {
    members_.push_back(std::make_unique<runner>(std::move(c), monitor_));
    return *members_.back();
  }
  runner& start(std::int64_t valor) {
    runner& r = add(config(valor));
    EXPECT_EQ(r.start(), "");
    return r;
  }
  // The one member that is lord (nullptr: none or several).
  runner* only_lord() {
    runner* found = nullptr;
    for (auto& r : members_) {
      if (!r->lord()) continue;
      if (found) return nullptr;
      found = r.get();
    }
    return found;
  }

  std::chrono::milliseconds kill_the_lord(bool listed);

  etcd_server etcd_;
  lord_monitor monitor_;
  std::vector<std::unique_ptr<runner>> members_;
};

TEST_F(EtcdBackend, ElectsTheHighestValorNeverTheArbiter) {
  runner& arbiter = start(0);
  start(1);
  runner& best = start(3);
  start(2);
  ASSERT_TRUE(eventually([&] { return only_lord() == &best; }, 20s));
  const std::uint64_t epoch = best.view().epoch;
  EXPECT_GT(epoch, 0u);
  EXPECT_EQ(best.count(hook_event::join), 1);
  for (auto& r : members_) {
    ASSERT_TRUE(eventually([&] { return r->view().lord_address == best.address(); }, 10s));
    const legion_view v = r->view();
    EXPECT_EQ(v.backend, "etcd");
    EXPECT_EQ(v.lord_valor, 3);
    EXPECT_EQ(v.epoch, epoch);
    ASSERT_TRUE(eventually([&] { return r->count(hook_event::node_joined) == 3; }, 10s));
    std::size_t alive = 0;
    for (const member_view& m : r->view().members) alive += m.alive;
    EXPECT_EQ(alive, 3u);
  }
  EXPECT_EQ(arbiter.count(hook_event::lord), 0);
  EXPECT_EQ(best.count(hook_event::lord), 1);
}

TEST_F(EtcdBackend, EqualValorsAreBrokenByTheGreaterUuid) {
  runner& a = start(5);
  runner& b = start(5);
  ASSERT_TRUE(eventually([&] { return only_lord() != nullptr; }, 20s));
  runner& want = a.view().uuid > b.view().uuid ? a : b;
  ASSERT_TRUE(eventually([&] { return only_lord() == &want; }, 10s));
}

TEST_F(EtcdBackend, QuorumHoldsTheElectionUntilEnoughMembersAreAlive) {
  legion_config c = config(1);
  legion_config other = config(2);
  c.nodes = {other.address};
  c.quorum = 2;
  other.nodes = {c.address};
  other.quorum = 2;
  runner& first = add(c);
  ASSERT_EQ(first.start(), "");
  ASSERT_TRUE(eventually([&] { return first.count(hook_event::join) == 1; }, 10s));
  ASSERT_FALSE(eventually([&] { return first.lord(); }, 1500ms));
  EXPECT_EQ(first.view().quorum, 2u);
  runner& second = add(other);
  ASSERT_EQ(second.start(), "");
  ASSERT_TRUE(eventually([&] { return only_lord() == &second; }, 20s));
  ASSERT_TRUE(eventually([&] { return first.count(hook_event::node_joined) == 1; }, 10s));
  second.stop();  // first is alone again: below the quorum
  ASSERT_TRUE(eventually([&] { return first.count(hook_event::node_left) == 1; }, 10s));
  EXPECT_FALSE(eventually([&] { return first.lord(); }, 1500ms));
}

TEST_F(EtcdBackend, AStoppedLordIsReplacedAtOnceWithAHigherEpoch) {
  runner& low = start(1);
  runner& mid = start(2);
  runner& high = start(3);
  ASSERT_TRUE(eventually([&] { return only_lord() == &high; }, 20s));
  ASSERT_TRUE(eventually([&] { return mid.count(hook_event::node_joined) == 2; }, 10s));
  ASSERT_TRUE(eventually([&] { return low.count(hook_event::node_joined) == 2; }, 10s));
  const std::uint64_t first = high.view().epoch;
  const auto stopped = steady::now();
  high.stop();
  EXPECT_TRUE(high.result().ok()) << high.result().message();
  EXPECT_EQ(high.last_kind(), hook_event::unlord);
  ASSERT_TRUE(eventually([&] { return only_lord() == &mid; }, 20s));
  const auto [at, epoch] = *mid.last(hook_event::lord);
  EXPECT_GT(epoch, first);
  EXPECT_GT(mid.view().epoch, first);
  std::printf("failover after a lord's clean stop: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(at - stopped).count()));
  EXPECT_TRUE(eventually([&] { return low.count(hook_event::node_left, high.address()) == 1; }));
  EXPECT_TRUE(eventually([&] { return low.view().lord_address == mid.address(); }));
}

// The lord runs in a child process that the test SIGKILLs: it gives nothing back. Returns the
// failover time seen by the next lord. `listed`: the others list the lord with legion-node, so
// their DEALERs see its connection close.
std::chrono::milliseconds EtcdBackend::kill_the_lord(bool listed) {
  const legion_config high = config(9);
  brood::testing::node_process child;
  child.start([&] {
    std::string error;
    auto b = make_etcd_backend(high, timing{}, error);
    if (!b) return 1;
    backend_events ev;
    ev.on_event = [](const election_event& e) {
      std::fprintf(stderr, "EVENT %s %llu\n", hook_event_name(e.kind),
                   static_cast<unsigned long long>(e.epoch));
    };
    std::stop_source never;
    return b->run(never.get_token(), ev).ok() ? 0 : 1;
  });
  EXPECT_TRUE(child.wait_for("EVENT lord", 1, 20s)) << child.all_output();
  legion_config lc = config(1), mc = config(2);
  if (listed) lc.nodes = mc.nodes = {high.address};
  runner& low = add(lc);
  runner& mid = add(mc);
  EXPECT_EQ(low.start(), "");
  EXPECT_EQ(mid.start(), "");
  EXPECT_TRUE(eventually([&] { return mid.view().lord_address == high.address.text(); }, 10s));
  EXPECT_TRUE(eventually([&] { return low.view().lord_address == high.address.text(); }, 10s));
  // The others revoke a lord's lease on its connection closing only when they saw it lead at
  // two ticks in a row (not a newcomer on the same address): give them those ticks.
  if (listed) std::this_thread::sleep_for(5 * timing{}.heartbeat);
  const std::uint64_t first = mid.view().epoch;
  const auto killed = steady::now();
  child.kill_all();
  EXPECT_TRUE(eventually([&] { return only_lord() == &mid; }, 20s));
  const auto lord = mid.last(hook_event::lord);
  if (!lord) return {};
  EXPECT_GT(lord->second, first);
  EXPECT_TRUE(eventually([&] { return low.count(hook_event::node_left, high.address.text()); }));
  return std::chrono::duration_cast<std::chrono::milliseconds>(lord->first - killed);
}

TEST_F(EtcdBackend, AKilledLordIsReplacedOnceItsLeaseExpires) {
  const auto took = kill_the_lord(false);
  std::printf("failover after SIGKILL of the lord (lease expiry, TTL 2 s): %lld ms\n",
              static_cast<long long>(took.count()));
}

TEST_F(EtcdBackend, AKilledListedLordIsReplacedWhenItsConnectionCloses) {
  const auto took = kill_the_lord(true);
  std::printf("failover after SIGKILL of a listed lord (connection closed): %lld ms\n",
              static_cast<long long>(took.count()));
  EXPECT_LT(took, 2s);  // before etcd's 2 s TTL could expire the lease: the revocation did it
}

TEST_F(EtcdBackend, AnswersQueriesWithItsView) {
  runner& r = start(4);
  ASSERT_TRUE(eventually([&] { return r.lord(); }, 20s));
  zmq::context_t ctx;
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect("tcp://" + r.address());
  const key k = derive_key("web", "s3cr3t");
  message q;
  q.type = message_type::query;
  q.legion = "web";
  q.from = "tool";
  q.uuid = "00000000-0000-4000-8000-000000000001";
  q.seq = 1;
  q.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  const auto frame = encode_message(q, k);
  dealer.send(zmq::buffer(frame.data(), frame.size()));
  zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(10000)), 1);
  zmq::message_t reply;
  ASSERT_TRUE(dealer.recv(reply));
  message v;
  const auto* p = static_cast<const std::uint8_t*>(reply.data());
  ASSERT_TRUE(decode_message({p, reply.size()}, k, decode_limits{}, v).ok);
  EXPECT_EQ(v.type, message_type::view);
  EXPECT_EQ(v.ref, 1u);
  legion_view got;
  ASSERT_TRUE(from_json(nlohmann::json::parse(v.payload), got)) << v.payload;
  EXPECT_EQ(got.backend, "etcd");
  EXPECT_TRUE(got.i_am_the_lord);
  EXPECT_EQ(got.epoch, r.view().epoch);
  EXPECT_EQ(got.lord_address, r.address());
}

TEST_F(EtcdBackend, AnAddressInUseIsNamed) {
  runner& r = start(1);
  legion_config c = config(2);
  c.address = {"127.0.0.1", static_cast<std::uint16_t>(std::stoi(r.address().substr(10)))};
  std::string error;
  EXPECT_EQ(make_etcd_backend(c, timing{}, error), nullptr);
  EXPECT_NE(error.find("cannot bind " + r.address()), std::string::npos) << error;
}

TEST_F(EtcdBackend, TheLordStepsDownWhileEtcdIsDownAndLeadsAgainAfter) {
  runner& lord = start(1);
  runner& other = start(0);
  ASSERT_TRUE(eventually([&] { return only_lord() == &lord; }, 20s));
  const std::uint64_t first = lord.view().epoch;
  const auto killed = steady::now();
  etcd_.stop();
  ASSERT_TRUE(eventually([&] { return lord.count(hook_event::unlord) == 1; }, 10s));
  const auto stepped = lord.last(hook_event::unlord)->first - killed;
  std::printf("lord stepped down %lld ms after etcd was killed (lease TTL 2 s)\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(stepped).count()));
  // Its last renewal came before the kill: it must step down before the TTL could run out.
  EXPECT_LT(stepped, 2s);
  EXPECT_FALSE(lord.lord());
  ASSERT_TRUE(etcd_.start()) << etcd_.output();
  ASSERT_TRUE(eventually([&] { return only_lord() == &lord; }, 30s));
  EXPECT_GT(lord.view().epoch, first);
  EXPECT_GT(lord.last(hook_event::lord)->second, first);
  EXPECT_TRUE(eventually([&] { return other.view().lord_address == lord.address(); }, 10s));
}

TEST(EtcdBackendConfig, BadEndpointsAreNamed) {
  legion_config c;
  c.name = "web";
  c.address = {"127.0.0.1", 4000};
  c.valor = 1;
  std::string error;
  c.etcd_endpoints = "ftp://127.0.0.1:1";
  EXPECT_EQ(make_etcd_backend(c, timing{}, error), nullptr);
  EXPECT_EQ(error, "legion-etcd: 'ftp://127.0.0.1:1': expected http://HOST:PORT");
  const std::string closed = "http://127.0.0.1:" + std::to_string(etcd_server::free_port());
  c.etcd_endpoints = closed;
  EXPECT_EQ(make_etcd_backend(c, timing{}, error), nullptr);
  EXPECT_NE(error.find("legion-etcd: no endpoint of '" + closed), std::string::npos) << error;
  EXPECT_NE(error.find("connect: Connection refused"), std::string::npos) << error;
}

}  // namespace
}  // namespace brood::legion

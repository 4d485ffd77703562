// The async client (class client) on an io_context: callbacks, completion tokens, keep-alive,
// timeouts, refusals, scatter/gather and destruction with calls pending.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "brood/client/client.hpp"
#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "client_test_server.hpp"

namespace brood::client {
namespace {

using namespace testing::client_tests;

class client_async_test : public ::testing::Test {
 protected:
  // Runs the io_context until `done` holds a value (at most 5 s).
  template <class T>
  void run_until(const std::optional<T>& done) {
    testing::eventually(
        [&] {
          if (done) return true;
          io_.restart();
          io_.run_for(20ms);
          return done.has_value();
        },
        5s, 0ms);
    ASSERT_TRUE(done.has_value()) << "no completion within 5 s";
  }

  client::message_result call(async_client& c, const std::string& addr, wire::value v,
                              milliseconds timeout = 2000ms) {
    std::optional<client::message_result> out;
    c.start_send_message(addr, marshal, 0, v, timeout,
                         [&](client::message_result r) { out.emplace(r); });
    run_until(out);
    return out ? std::move(*out) : client::message_result(client::call_error{});
  }

  asio::io_context io_;
  testing::temp_dir dir_{"brood_client_"};
};

TEST_F(client_async_test, CallbackRoundTripTcpAndUnix) {
  test_server tcp(echo);
  test_server unix_server(echo, dir_ / "n.sock");
  async_client c(io_);
  for (const auto& addr : {tcp.address(), unix_server.address()}) {
    auto r = call(c, addr, wire::value("hello"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, wire::value("hello"));
  }
}

TEST_F(client_async_test, UseFutureWithIoOnAnotherThread) {
  test_server server(echo);
  auto guard = asio::make_work_guard(io_);
  std::thread runner([this] { io_.run(); });
  {
    async_client c(io_);
    for (int i = 0; i < 10; ++i) {
      std::future<client::message_result> f = c.async_send_message(
          server.address(), marshal, 0, wire::value(i), 2000ms, asio::use_future);
      ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
      client::message_result r = f.get();
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(*r, wire::value(i));
    }
  }
  EXPECT_EQ(server.accepted(), 1);  // kept alive across the 10 calls
  guard.reset();
  io_.stop();
  runner.join();
}

TEST_F(client_async_test, CompletionTokenCallback) {
  test_server server(echo);
  async_client c(io_);
  std::optional<client::message_result> out;
  c.async_send_message(server.address(), marshal, 0, wire::value(5), 2000ms,
                       [&](client::message_result r) { out.emplace(std::move(r)); });
  run_until(out);
  ASSERT_TRUE(*out) << out->error().message;
  EXPECT_EQ(**out, wire::value(5));
}

TEST_F(client_async_test, CallbacksNeverRunInline) {
  async_client c(io_);
  bool called = false;
  c.start_send_message("127.0.0.1:99999", marshal, 0, wire::value(1), 100ms,
                       [&](client::message_result r) {
                         called = true;
                         EXPECT_EQ(r.error().code, client::call_errc::bad_request);
                       });
  c.start_send_message(
      "127.0.0.1:1", marshal, 0, wire::value(std::string(70000, 'x')), 100ms,
      [&](client::message_result r) { EXPECT_EQ(r.error().code, client::call_errc::bad_request); });
  EXPECT_FALSE(called);
  io_.run_for(1s);
  EXPECT_TRUE(called);
}

TEST_F(client_async_test, IdleConnectionClosedByServerIsReplaced) {
  test_server server(echo);
  async_client c(io_);
  ASSERT_TRUE(call(c, server.address(), wire::value(1)));
  server.drop_connections();
  auto r = call(c, server.address(), wire::value(2));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(client_async_test, ReusedConnectionClosedBeforeReplyIsRetried) {
  test_server server([](const wire::header& h, wire::bytes_view p, int nth) {
    return nth == 0 ? echo(h, p, nth) : action::close();
  });
  async_client c(io_);
  ASSERT_TRUE(call(c, server.address(), wire::value(1)));
  auto r = call(c, server.address(), wire::value(2));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(client_async_test, RemoteFailureAndRefusal) {
  test_server failing([](const wire::header&, wire::bytes_view, int) {
    wire::bytes out;
    wire::append_error_reply(out, "KeyError", "nope");
    return action::reply(out);
  });
  async_client c(io_);
  auto r = call(c, failing.address(), wire::value(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::remote);
  EXPECT_EQ(r.error().remote_type, "KeyError");
  std::string dead = testing::dead_address();
  auto t0 = clock_type::now();
  auto refused = call(c, dead, wire::value(1));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, client::call_errc::refused);
  EXPECT_EQ(refused.error().message, "connection refused by " + dead);
  EXPECT_LT(ms_since(t0), 500);
}

TEST_F(client_async_test, StalledServerTimesOut) {
  test_server server(stall);
  async_client c(io_);
  auto t0 = clock_type::now();
  auto r = call(c, server.address(), wire::value(1), 300ms);
  long long took = ms_since(t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::timeout);
  EXPECT_EQ(r.error().message, "timeout after 300 ms waiting for " + server.address());
  EXPECT_GE(took, 295);
  EXPECT_LT(took, 450);
}

TEST_F(client_async_test, MultiGathersInOrderWithinTheTimeout) {
  test_server good(echo);
  test_server good_unix(echo, dir_ / "g.sock");
  test_server stalled(stall);
  async_client c(io_);
  std::vector<target> targets{{good.address(), wire::value(0)},
                              {testing::dead_address(), wire::value(1)},
                              {stalled.address(), wire::value(2)},
                              {good_unix.address(), wire::value(3)}};
  std::optional<std::vector<client::message_result>> out;
  auto t0 = clock_type::now();
  c.start_send_multi_message(
      targets, marshal, 0, 300ms,
      [&](std::vector<client::message_result> r) { out.emplace(std::move(r)); });
  run_until(out);
  long long took = ms_since(t0);
  ASSERT_EQ(out->size(), 4u);
  auto& r = *out;
  ASSERT_TRUE(r[0]) << r[0].error().message;
  EXPECT_EQ(*r[0], wire::value(0));
  EXPECT_EQ(r[1].error().code, client::call_errc::refused);
  EXPECT_EQ(r[2].error().code, client::call_errc::timeout);
  ASSERT_TRUE(r[3]) << r[3].error().message;
  EXPECT_EQ(*r[3], wire::value(3));
  EXPECT_GE(took, 295);
  EXPECT_LT(took, 450);
}

TEST_F(client_async_test, MultiWithFutureAndEmptyTargets) {
  async_client c(io_);
  std::optional<std::vector<client::message_result>> out;
  c.start_send_multi_message({}, marshal, 0, 100ms, [&](std::vector<client::message_result> r) {
    out.emplace(std::move(r));
  });
  EXPECT_FALSE(out.has_value());
  run_until(out);
  EXPECT_TRUE(out->empty());
}

TEST_F(client_async_test, DestroyingTheClientCancelsPendingCalls) {
  test_server server(stall);
  std::optional<client::message_result> out;
  {
    async_client c(io_);
    c.start_send_message(server.address(), marshal, 0, wire::value(1), 5000ms,
                         [&](client::message_result r) { out.emplace(std::move(r)); });
    io_.run_for(50ms);  // connected and waiting for the reply
  }
  auto t0 = clock_type::now();
  run_until(out);
  EXPECT_LT(ms_since(t0), 1000);
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code, std::errc::operation_canceled);
}

TEST_F(client_async_test, SendPacketReturnsTheRawReply) {
  test_server server(echo);
  async_client c(io_);
  std::optional<client::packet_result> out;
  c.start_send_packet(server.address(), 17, 4, wire::bytes{9, 8, 7}, 2000ms,
                      [&](client::packet_result r) { out.emplace(std::move(r)); });
  run_until(out);
  ASSERT_TRUE(*out) << out->error().message;
  EXPECT_EQ((*out)->head, (wire::header{17, 3, 4}));
  EXPECT_EQ((*out)->payload, (wire::bytes{9, 8, 7}));
}

TEST_F(client_async_test, ConcurrentCallsWithIoOnTwoThreads) {
  test_server tcp(echo);
  test_server unix_server(echo, dir_ / "m.sock");
  auto guard = asio::make_work_guard(io_);
  std::thread a([this] { io_.run(); });
  std::thread b([this] { io_.run(); });
  {
    async_client c(io_);
    std::vector<std::future<client::message_result>> futures;
    for (int i = 0; i < 40; ++i) {
      futures.push_back(c.async_send_message(i % 2 ? tcp.address() : unix_server.address(), marshal,
                                             0, wire::value(i), 2000ms, asio::use_future));
    }
    for (int i = 0; i < 40; ++i) {
      ASSERT_EQ(futures[i].wait_for(5s), std::future_status::ready);
      client::message_result r = futures[i].get();
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(*r, wire::value(i));
    }
  }
  guard.reset();
  io_.stop();
  a.join();
  b.join();
}

}  // namespace
}  // namespace brood::client

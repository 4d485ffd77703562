// send_multi_message (sync): scatter to every target at once, gather in target order; a dead or
// stalled node costs at most the timeout and never delays the others.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "brood/client/client.hpp"
#include "brood/wire/modifier.hpp"
#include "client_test_server.hpp"

namespace brood::client {
namespace {

using namespace testing::client_tests;

class client_multi_test : public ::testing::Test {
 protected:
  testing::temp_dir dir_{"brood_client_"};
  test_server good_tcp_{echo};
  test_server good_unix_{echo, dir_ / "good.sock"};
  test_server stalled_{stall};
  std::string dead_ = testing::dead_address();
};

TEST_F(client_multi_test, DeadAndStalledSlotsCostOnlyTheTimeout) {
  std::vector<target> targets{{good_tcp_.address(), wire::value("a")},
                              {dead_, wire::value("b")},
                              {stalled_.address(), wire::value("c")},
                              {good_unix_.address(), wire::value("d")}};
  auto t0 = clock_type::now();
  auto results = client::send_multi_message(targets, marshal, 0, 300ms);
  long long took = ms_since(t0);
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0]) << results[0].error().message;
  EXPECT_EQ(*results[0], wire::value("a"));
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, client::call_errc::refused);
  ASSERT_FALSE(results[2]);
  EXPECT_EQ(results[2].error().code, client::call_errc::timeout);
  EXPECT_EQ(results[2].error().message, "timeout after 300 ms waiting for " + stalled_.address());
  ASSERT_TRUE(results[3]) << results[3].error().message;
  EXPECT_EQ(*results[3], wire::value("d"));
  EXPECT_GE(took, 295);
  EXPECT_LT(took, 450);
}

TEST_F(client_multi_test, AllGoodAnswersInOrderWithoutWaiting) {
  std::vector<target> targets;
  for (int i = 0; i < 6; ++i) {
    targets.push_back({i % 2 ? good_unix_.address() : good_tcp_.address(), wire::value(i)});
  }
  auto t0 = clock_type::now();
  auto results = client::send_multi_message(targets, marshal, 3, 2000ms);
  EXPECT_LT(ms_since(t0), 1000);
  ASSERT_EQ(results.size(), targets.size());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().message;
    EXPECT_EQ(*results[i], wire::value(i));
  }
}

TEST_F(client_multi_test, ConnectionsAreReusedAcrossCalls) {
  std::vector<target> targets{{good_tcp_.address(), wire::value(1)},
                              {good_unix_.address(), wire::value(2)}};
  for (int round = 0; round < 5; ++round) {
    for (auto& r : client::send_multi_message(targets, marshal, 0, 2000ms)) {
      ASSERT_TRUE(r) << r.error().message;
    }
  }
  EXPECT_EQ(good_tcp_.accepted(), 1);
  EXPECT_EQ(good_unix_.accepted(), 1);
}

TEST_F(client_multi_test, EmptyTargetsGiveEmptyResults) {
  EXPECT_TRUE(client::send_multi_message({}, marshal, 0, 100ms).empty());
}

TEST_F(client_multi_test, BadSlotsFailAlone) {
  std::vector<target> targets{{"127.0.0.1:99999", wire::value(1)},
                              {good_tcp_.address(), wire::value(std::string(70000, 'x'))},
                              {good_tcp_.address(), wire::value(3)}};
  auto results = client::send_multi_message(targets, marshal, 0, 2000ms);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].error().code, client::call_errc::bad_request);
  EXPECT_EQ(results[1].error().code, client::call_errc::bad_request);
  ASSERT_TRUE(results[2]) << results[2].error().message;
  EXPECT_EQ(*results[2], wire::value(3));
}

TEST_F(client_multi_test, ThreadsKeepTheirOwnPools) {
  std::vector<target> targets{{good_tcp_.address(), wire::value(1)},
                              {good_unix_.address(), wire::value(2)}};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        for (auto& r : client::send_multi_message(targets, marshal, 0, 2000ms)) ok += r ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 3 * 5 * 2);
  EXPECT_EQ(good_tcp_.accepted(), 3);
}

}  // namespace
}  // namespace brood::client

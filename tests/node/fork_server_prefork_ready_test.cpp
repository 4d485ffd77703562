// The worker-to-be's readiness byte (node/src/fork_server_spare.hpp): the spare's wait ends true
// on the byte, false on EOF (the worker-to-be died) or at its timeout; a request sent on the
// same link afterwards still reaches the worker-to-be.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "fork_server_spare.hpp"

namespace brood::node::test {
namespace {

using namespace std::chrono_literals;

TEST(fork_server_prefork_ready, TheSparesWaitEndsOnTheWorkerToBesByte) {
  auto link = spare_link();
  ASSERT_TRUE(link);
  std::thread worker([fd = link->second.get()] { EXPECT_TRUE(announce_worker_to_be(fd)); });
  EXPECT_TRUE(await_worker_to_be(link->first.get(), 30s));
  worker.join();
  // The link still carries the spare's messages to the worker-to-be afterwards.
  const char byte = 'x';
  ASSERT_EQ(::send(link->first.get(), &byte, 1, MSG_NOSIGNAL), 1);
  char got = 0;
  EXPECT_EQ(::recv(link->second.get(), &got, 1, 0), 1);
  EXPECT_EQ(got, 'x');
}

TEST(fork_server_prefork_ready, AWorkerToBeGoneEndsTheWaitFalse) {
  auto link = spare_link();
  ASSERT_TRUE(link);
  link->second.reset();  // EOF
  EXPECT_FALSE(await_worker_to_be(link->first.get(), 30s));
}

TEST(fork_server_prefork_ready, NoByteWithinTheTimeoutIsFalse) {
  auto link = spare_link();
  ASSERT_TRUE(link);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(await_worker_to_be(link->first.get(), 50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(fork_server_prefork_ready, AnotherByteIsNotReady) {
  auto link = spare_link();
  ASSERT_TRUE(link);
  const char wrong = 'Z';
  ASSERT_EQ(::send(link->second.get(), &wrong, 1, MSG_NOSIGNAL), 1);
  EXPECT_FALSE(await_worker_to_be(link->first.get(), 30s));
}

}  // namespace
}  // namespace brood::node::test

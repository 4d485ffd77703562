// The sync client's kept-alive connections must not be shared across fork(): a parent and its
// child calling the same node at once each get their own answers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "brood/client/client.hpp"
#include "client_test_server.hpp"

namespace brood::client {
namespace {

using namespace testing::client_tests;

// Calls `address` n times with "<tag>-i"; true if every answer is its own request.
bool own_answers(const std::string& address, const std::string& tag, int n) {
  for (int i = 0; i < n; ++i) {
    wire::value v(tag + "-" + std::to_string(i));
    auto r = client::send_message(address, marshal, 0, v, 2000ms);
    if (!r || *r != v) return false;
  }
  return true;
}

// An echo that answers after 3 ms, so that calls of both processes are in flight together.
testing::action slow_echo(const wire::header& h, wire::bytes_view p, int n) {
  std::this_thread::sleep_for(3ms);  // the slow server: the behaviour under test
  return echo(h, p, n);
}

TEST(client_fork_test, ParentAndChildNeverShareAPooledConnection) {
  test_server server(slow_echo);
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(own_answers(server.address(), "before", 1));  // the pool holds a connection
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(own_answers(server.address(), "child", 5) ? 0 : 1);
    bool parent_ok = own_answers(server.address(), "parent", 5);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(parent_ok) << "round " << round;
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "round " << round << ": the child got a wrong answer";
  }
}

}  // namespace
}  // namespace brood::client

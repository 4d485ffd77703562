// os::log_line's "[brood <role> <pid>]" prefix: the pid is read once per process and again in
// every child of fork(2), so a line logged after a fork names the child, also in a grandchild.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "brood/os/log.hpp"

namespace brood::os {
namespace {

// The lines written to stderr by `body` run in a child (stderr a pipe); "" on failure.
template <class F>
std::string stderr_of_child(F body) {
  int p[2];
  if (::pipe(p) != 0) return "";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], STDERR_FILENO);
    ::close(p[0]);
    ::close(p[1]);
    body();
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return out;
}

TEST(log_pid_test, ALineLoggedAfterAForkNamesTheChild) {
  log_line("in the parent first");  // the parent's pid is read and kept
  const std::string out = stderr_of_child([] {
    log_line("child " + std::to_string(::getpid()));
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      log_line("grandchild " + std::to_string(::getpid()));
      ::_exit(0);
    }
    int st = 0;
    ::waitpid(grandchild, &st, 0);
  });
  // Each line: "[brood <role> <pid>] <who> <pid from getpid()>": the two pids are the same.
  std::size_t lines = 0;
  for (std::size_t at = 0; at < out.size();) {
    const std::size_t end = out.find('\n', at);
    ASSERT_NE(end, std::string::npos) << out;
    const std::string line = out.substr(at, end - at);
    at = end + 1;
    const std::size_t close = line.find("] ");
    ASSERT_NE(close, std::string::npos) << line;
    const std::string prefix_pid =
        line.substr(line.rfind(' ', close) + 1, close - line.rfind(' ', close) - 1);
    const std::string said_pid = line.substr(line.rfind(' ') + 1);
    EXPECT_EQ(prefix_pid, said_pid) << line;
    EXPECT_NE(prefix_pid, std::to_string(::getpid())) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 2u) << out;
}

}  // namespace
}  // namespace brood::os

// step_trace: off without BROOD_STEP_TRACE; one line per call with the caller's pid; the kept fd
// survives its number being closed and reused, a change of file, and a fork.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "brood/os/step_trace.hpp"

namespace brood::os {
namespace {

class step_trace_test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/step_trace_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ::unsetenv("BROOD_STEP_TRACE");
    for (const char* name : {"a", "b", "other"}) ::unlink((dir_ + "/" + name).c_str());
    ::rmdir(dir_.c_str());
  }
  std::string path(const char* name) const { return dir_ + "/" + name; }
  void trace_to(const char* name) { ::setenv("BROOD_STEP_TRACE", path(name).c_str(), 1); }

  // The fields of every line of `name`: STEP, step, pid, ns, cpu ns, faults.
  std::vector<std::vector<std::string>> lines(const char* name) const {
    std::vector<std::vector<std::string>> out;
    std::ifstream in(path(name));
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string w; fields >> w;) f.push_back(w);
      out.push_back(f);
    }
    return out;
  }

  std::string dir_;
};

TEST_F(step_trace_test, WritesNothingWhenOff) {
  ::unsetenv("BROOD_STEP_TRACE");
  step_trace("off.step");
  EXPECT_NE(::access(path("a").c_str(), F_OK), 0);
}

TEST_F(step_trace_test, OneLinePerCallWithPidTimeCpuAndFaults) {
  trace_to("a");
  step_trace("first.step");
  step_trace("second.step");
  const auto got = lines("a");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0][0], "STEP");
  EXPECT_EQ(got[0][1], "first.step");
  EXPECT_EQ(got[1][1], "second.step");
  for (const auto& f : got) {
    ASSERT_EQ(f.size(), 6u);
    EXPECT_EQ(std::stol(f[2]), ::getpid());
    EXPECT_GT(std::stoll(f[3]), 0);
    EXPECT_GE(std::stoll(f[5]), 0);
  }
  EXPECT_LE(std::stoll(got[0][3]), std::stoll(got[1][3]));
  EXPECT_LE(std::stoll(got[0][4]), std::stoll(got[1][4]));
}

TEST_F(step_trace_test, AClosedAndReusedFdNumberIsNotWrittenTo) {
  trace_to("a");
  step_trace("before");
  // A vassal's fd clean-up: every fd from 200 up closed, one of them then reused for a file.
  for (int fd = 200; fd < 300; ++fd) ::close(fd);
  const int other = ::open(path("other").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(other, 0);
  ASSERT_GE(::dup2(other, 200), 0);
  step_trace("after");
  EXPECT_EQ(lines("a").size(), 2u);
  EXPECT_TRUE(lines("other").empty());
  ::close(200);
  ::close(other);
}

TEST_F(step_trace_test, ANewPathIsFollowed) {
  trace_to("a");
  step_trace("in.a");
  trace_to("b");
  step_trace("in.b");
  ASSERT_EQ(lines("a").size(), 1u);
  ASSERT_EQ(lines("b").size(), 1u);
  EXPECT_EQ(lines("b")[0][1], "in.b");
}

TEST_F(step_trace_test, AForkedChildWritesItsOwnPid) {
  trace_to("a");
  step_trace("parent.before");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    step_trace("child.step");
    ::_exit(0);
  }
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  step_trace("parent.after");
  const auto got = lines("a");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1][1], "child.step");
  EXPECT_EQ(std::stol(got[1][2]), child);
  EXPECT_EQ(std::stol(got[2][2]), ::getpid());
}

}  // namespace
}  // namespace brood::os

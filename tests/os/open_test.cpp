// The owners made by open() (signal_source, shared_array, stats_server) and the os calls that
// return a result (fork_child, self_exe, adopt_listening_fd, event_loop::run): what they hold on
// success, what their errors say.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "brood/os/child_process.hpp"
#include "brood/os/event_loop.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/shared_array.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/os/stats_server.hpp"

namespace brood::os {
namespace {

class open_test : public ::testing::Test {
 protected:
  static bool blocked(int signo) {
    sigset_t now;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &now);
    return ::sigismember(&now, signo) == 1;
  }
};

TEST_F(open_test, SignalSourceBlocksReadsAndRestores) {
  ASSERT_FALSE(blocked(SIGUSR2));
  {
    auto s = signal_source::open({SIGUSR2});
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_TRUE(blocked(SIGUSR2));
    ASSERT_GE(s->fd(), 0);
    ::raise(SIGUSR2);
    EXPECT_EQ(s->read_pending(), std::vector<int>{SIGUSR2});
    EXPECT_TRUE(s->read_pending().empty());
  }
  EXPECT_FALSE(blocked(SIGUSR2));
}

TEST_F(open_test, AMovedSignalSourceKeepsTheMaskUntilItsNewOwnerEnds) {
  signal_source target;
  EXPECT_EQ(target.fd(), -1);
  EXPECT_TRUE(target.read_pending().empty());
  {
    auto s = signal_source::open({SIGUSR2});
    ASSERT_TRUE(s);
    target = std::move(*s);
  }  // the moved-from one ends here and must not unblock
  EXPECT_TRUE(blocked(SIGUSR2));
  EXPECT_GE(target.fd(), 0);
  target = signal_source();
  EXPECT_FALSE(blocked(SIGUSR2));
}

TEST_F(open_test, SharedArrayIsSharedWithAForkedChild) {
  auto a = shared_array<std::atomic<int>>::open(3, "the test array");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[2].load(), 0);
  auto pid = fork_child([&] {
    (*a)[2].store(42);
    return 0;
  });
  ASSERT_TRUE(pid) << pid.error().message();
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  EXPECT_EQ(describe_exit(status), "exited with status 0");
  EXPECT_EQ((*a)[2].load(), 42);
}

TEST_F(open_test, StatsServerErrorsNameTheAddress) {
  event_loop loop;
  auto bad = stats_server::open(loop, "127.0.0.1:99999", [] { return std::string("{}"); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), std::errc::invalid_argument);
  EXPECT_EQ(bad.error().message(),
            "invalid stats address \"127.0.0.1:99999\": port 99999 out of range in "
            "\"127.0.0.1:99999\"");
  auto first = stats_server::open(loop, "127.0.0.1:0", [] { return std::string("{}"); });
  ASSERT_TRUE(first) << first.error().message();
  const std::string taken = (*first)->name();
  auto second = stats_server::open(loop, taken, [] { return std::string("{}"); });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), std::errc::address_in_use);
  EXPECT_EQ(second.error().message().rfind("stats server: cannot bind " + taken + ": ", 0), 0u)
      << second.error().message();
}

TEST_F(open_test, SelfExeIsAnAbsolutePath) {
  auto exe = self_exe();
  ASSERT_TRUE(exe) << exe.error().message();
  EXPECT_EQ(exe->front(), '/');
}

TEST_F(open_test, AdoptingWhatIsNotAListeningSocketGivesNothing) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto none = adopt_listening_fd(fds[0]);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_FALSE(none->has_value());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(open_test, EventLoopRunIsOkWhenStopped) {
  event_loop loop;
  loop.after(std::chrono::milliseconds(1), [&] { loop.stop(); });
  const status st = loop.run();
  EXPECT_TRUE(st.ok()) << st.message();
}

}  // namespace
}  // namespace brood::os

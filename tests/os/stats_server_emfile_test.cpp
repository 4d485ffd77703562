// stats_server when accept fails for lack of fds (EMFILE): the master's loop must not spin on the
// still-readable socket; accepting resumes by itself once fds are free again.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "brood/os/event_loop.hpp"
#include "brood/os/stats_server.hpp"
#include "brood/os/unique_fd.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define BROOD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BROOD_SANITIZED 1
#endif
#endif

namespace brood::os {
namespace {

using namespace std::chrono_literals;

// CPU time (user + system) of this process.
std::chrono::microseconds cpu_time() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return std::chrono::seconds(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         std::chrono::microseconds(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// A TCP connection to `port` on loopback (blocking connect: the backlog takes it at once).
unique_fd connect_to(int port) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return unique_fd();
  return fd;
}

TEST(stats_server_emfile_test, FailedAcceptPausesInsteadOfSpinningAndResumes) {
#ifdef BROOD_SANITIZED
  // UBSan's vptr check opens a pipe: with no fd free it reports every virtual call as invalid.
  GTEST_SKIP() << "needs a process with no free fd, which the sanitizers' runtime cannot run in";
#endif
  event_loop loop;
  auto server = stats_server::open(loop, "127.0.0.1:0", [] { return std::string("{}"); });
  ASSERT_TRUE(server) << server.error().message();
  const std::string name = (*server)->name();
  unique_fd client = connect_to(std::stoi(name.substr(name.rfind(':') + 1)));
  ASSERT_TRUE(client);
  ::fcntl(client.get(), F_SETFL, O_NONBLOCK);

  // No fd is free below the new limit: the accept fails with EMFILE.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const int lowest_free = ::dup(STDERR_FILENO);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);

  const auto cpu_before = cpu_time();
  std::chrono::microseconds cpu_while_failing{};
  std::string got;
  loop.after(300ms, [&] {
    cpu_while_failing = cpu_time() - cpu_before;
    ::setrlimit(RLIMIT_NOFILE, &saved);  // fds are free again
  });
  auto poll_client = [&](auto& self) -> void {
    char buf[64];
    const ssize_t n = ::read(client.get(), buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    if (n == 0 || got == "{}") {
      loop.stop();
      return;
    }
    loop.after(10ms, [&] { self(self); });
  };
  loop.after(10ms, [&] { poll_client(poll_client); });
  loop.after(3s, [&] { loop.stop(); });  // the failure bound
  ASSERT_TRUE(loop.run().ok());
  ::setrlimit(RLIMIT_NOFILE, &saved);

  EXPECT_LT(cpu_while_failing, 60ms) << "the loop spun on the readable socket";
  EXPECT_EQ(got, "{}") << "accepting did not resume";
}

}  // namespace
}  // namespace brood::os

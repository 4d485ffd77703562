// inherited_sockets (BROOD_INHERITED_SOCKETS): parsing, taking by address, closing leftovers.
#include "brood/os/inherited_sockets.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "brood/os/address.hpp"
#include "temp_dir.hpp"

namespace brood::os {
namespace {

address tcp(std::string host, std::uint16_t port) {
  address a;
  a.type = address::kind::tcp;
  a.host = std::move(host);
  a.port = port;
  return a;
}

address unix_path(std::string path) {
  address a;
  a.type = address::kind::unix_path;
  a.path = std::move(path);
  return a;
}

bool open_fd(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

std::uint16_t port_of(const bound_socket& s) {
  return static_cast<std::uint16_t>(std::stoi(s.name.substr(s.name.rfind(':') + 1)));
}

class inherited_sockets_test : public ::testing::Test {
 protected:
  // A listening socket as the fork server hands it over: a plain inheritable fd.
  int inherit(const bound_socket& s) { return ::fcntl(s.fd.get(), F_DUPFD, 3); }

  testing::temp_dir dir_{"brood_inherited_"};
};

TEST_F(inherited_sockets_test, TakesEachSocketByItsAddress) {
  auto a = bind_socket(tcp("127.0.0.1", 0), 16);
  auto b = bind_socket(unix_path(dir_.path() + "/b.sock"), 16);
  ASSERT_TRUE(a.ok() && b.ok());
  const int fa = inherit(*a), fb = inherit(*b);
  auto set = inherited_sockets::parse(std::to_string(fa) + "," + std::to_string(fb));
  ASSERT_EQ(set.size(), 2u);
  EXPECT_FALSE(set.take(tcp("127.0.0.1", static_cast<std::uint16_t>(port_of(*a) + 1))));
  auto got_b = set.take(unix_path(dir_.path() + "/b.sock"));
  ASSERT_TRUE(got_b);
  EXPECT_EQ(got_b->fd.get(), fb);
  EXPECT_EQ(got_b->name, dir_.path() + "/b.sock");
  auto got_a = set.take(tcp("127.0.0.1", port_of(*a)));
  ASSERT_TRUE(got_a);
  EXPECT_EQ(got_a->fd.get(), fa);
  EXPECT_EQ(got_a->name, a->name);
  EXPECT_TRUE(::fcntl(fa, F_GETFD) & FD_CLOEXEC);  // never leaks into an exec'd program
  EXPECT_TRUE(::fcntl(fa, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.take(tcp("127.0.0.1", port_of(*a))));  // taken once
}

TEST_F(inherited_sockets_test, AnyHostMatchesAnAllInterfacesSocket) {
  auto a = bind_socket(tcp("", 0), 16);
  ASSERT_TRUE(a.ok());
  auto set = inherited_sockets::parse(std::to_string(inherit(*a)));
  EXPECT_TRUE(set.take(tcp("0.0.0.0", port_of(*a))));
}

TEST_F(inherited_sockets_test, ANonListeningFdIsClosedAndBadTokensAreSkipped) {
  const int plain = ::socket(AF_INET, SOCK_STREAM, 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  auto a = bind_socket(tcp("127.0.0.1", 0), 16);
  ASSERT_TRUE(a.ok());
  const int fa = inherit(*a);
  auto set =
      inherited_sockets::parse(std::to_string(plain) + ",x1,," + std::to_string(pipe_fds[0]) +
                               ",-4,999999," + std::to_string(fa));
  EXPECT_EQ(set.size(), 1u);
  EXPECT_FALSE(open_fd(plain));
  EXPECT_FALSE(open_fd(pipe_fds[0]));
  EXPECT_TRUE(open_fd(fa));
  ::close(pipe_fds[1]);
}

TEST_F(inherited_sockets_test, LeftoversAreClosed) {
  auto a = bind_socket(tcp("127.0.0.1", 0), 16);
  auto b = bind_socket(tcp("127.0.0.1", 0), 16);
  ASSERT_TRUE(a.ok() && b.ok());
  const int fa = inherit(*a), fb = inherit(*b);
  auto set = inherited_sockets::parse(std::to_string(fa) + "," + std::to_string(fb));
  auto kept = set.take(tcp("127.0.0.1", port_of(*a)));
  ASSERT_TRUE(kept);
  set.close_leftovers();
  EXPECT_TRUE(set.empty());
  EXPECT_TRUE(open_fd(fa));
  EXPECT_FALSE(open_fd(fb));
}

// The process's set reads the variable once and unsets it. (The only test touching the process
// set: it is made once per test binary.)
TEST_F(inherited_sockets_test, TheProcessSetReadsAndUnsetsTheVariableOnce) {
  auto a = bind_socket(tcp("127.0.0.1", 0), 16);
  ASSERT_TRUE(a.ok());
  const int fa = inherit(*a);
  ASSERT_EQ(::setenv(inherited_sockets_variable, std::to_string(fa).c_str(), 1), 0);
  inherited_sockets& set = inherited_sockets::of_process();
  EXPECT_EQ(::getenv(inherited_sockets_variable), nullptr);
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(&inherited_sockets::of_process(), &set);
  auto got = set.take(tcp("127.0.0.1", port_of(*a)));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->fd.get(), fa);
}

}  // namespace
}  // namespace brood::os

// bind_socket's bind_options (SO_REUSEPORT, the unix file mode) and adopt_socket (a listening
// socket received from elsewhere, as a zerg receives its server's).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "brood/os/listener.hpp"
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

class listener_share_test : public ::testing::Test {
 protected:
  testing::temp_dir dir_{"brood_listener_"};
};

TEST_F(listener_share_test, ReusePortLetsTwoSocketsBindOnePort) {
  bind_options reuse;
  reuse.reuse_port = true;
  auto first = bind_socket(tcp("127.0.0.1", 0), 16, accept_when::first_bytes, reuse);
  ASSERT_TRUE(first.ok()) << first.error().message();
  const auto port = static_cast<std::uint16_t>(std::stoi(first->name.substr(10)));
  auto second = bind_socket(tcp("127.0.0.1", port), 16, accept_when::first_bytes, reuse);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->name, first->name);
  auto plain = bind_socket(tcp("127.0.0.1", port), 16);
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code().value(), EADDRINUSE);
}

TEST_F(listener_share_test, UnixModeIsApplied) {
  address a;
  a.type = address::kind::unix_path;
  a.path = dir_.path() + "/s.sock";
  bind_options opts;
  opts.unix_mode = 0600;
  auto s = bind_socket(a, 16, accept_when::connected, opts);
  ASSERT_TRUE(s.ok()) << s.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(a.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(listener_share_test, AdoptSocketDescribesAListeningSocket) {
  auto bound = bind_socket(tcp("127.0.0.1", 0), 16);
  ASSERT_TRUE(bound.ok());
  unique_fd copy(::fcntl(bound->fd.get(), F_DUPFD_CLOEXEC, 3));
  ASSERT_EQ(::fcntl(copy.get(), F_SETFL, 0), 0);  // blocking: adopt makes it non-blocking
  auto adopted = adopt_socket(std::move(copy));
  ASSERT_TRUE(adopted.ok()) << adopted.error().message();
  EXPECT_EQ(adopted->name, bound->name);
  EXPECT_EQ(adopted->addr.type, address::kind::tcp);
  EXPECT_EQ(adopted->addr.port, static_cast<std::uint16_t>(std::stoi(bound->name.substr(10))));
  EXPECT_TRUE(::fcntl(adopted->fd.get(), F_GETFL) & O_NONBLOCK);
}

TEST_F(listener_share_test, AdoptSocketRefusesANonListeningFd) {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int n = s.get();
  auto adopted = adopt_socket(std::move(s));
  ASSERT_FALSE(adopted.ok());
  EXPECT_EQ(adopted.error().code().value(), EINVAL);
  EXPECT_EQ(adopted.error().message(), "cannot adopt the socket on fd " + std::to_string(n) +
                                           ": not a listening stream socket");
}

}  // namespace
}  // namespace brood::os

// bind_socket: TCP on loopback (port 0 resolved), IPv6 loopback, host names, unix sockets (stale
// files replaced, live ones kept), and the messages of failures.
#include "brood/os/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::os {
namespace {

address tcp(std::string host, std::uint16_t port) {
  address a;
  a.type = os::address::kind::tcp;
  a.host = std::move(host);
  a.port = port;
  return a;
}

address unix_path(std::string path) {
  address a;
  a.type = os::address::kind::unix_path;
  a.path = std::move(path);
  return a;
}

std::uint16_t port_of(const std::string& name) {
  return static_cast<std::uint16_t>(std::stoi(name.substr(name.rfind(':') + 1)));
}

// True when a blocking client's connect to 127.0.0.1:port (or to the unix socket `path`)
// completes.
bool can_connect_tcp(std::uint16_t port) {
  return testing::raw_socket("127.0.0.1:" + std::to_string(port)).connected();
}
bool can_connect_unix(const std::string& path) { return testing::raw_socket(path).connected(); }

class listener_test : public ::testing::Test {
 protected:
  testing::temp_dir dir_{"brood_listener_"};
};

TEST_F(listener_test, TcpPortZeroIsResolvedAndAccepts) {
  auto s_r = os::bind_socket(tcp("127.0.0.1", 0), 16);
  ASSERT_TRUE(s_r.ok()) << s_r.error().message();
  os::bound_socket s = std::move(*s_r);
  EXPECT_EQ(s.addr, tcp("127.0.0.1", 0));
  ASSERT_EQ(s.name.rfind("127.0.0.1:", 0), 0u) << s.name;
  const std::uint16_t port = port_of(s.name);
  EXPECT_NE(port, 0);
  EXPECT_TRUE(::fcntl(s.fd.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(s.fd.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(can_connect_tcp(port));
}

TEST_F(listener_test, LocalhostIsResolved) {
  auto s_r = os::bind_socket(tcp("localhost", 0), 16);
  ASSERT_TRUE(s_r.ok()) << s_r.error().message();
  os::bound_socket s = std::move(*s_r);
  EXPECT_EQ(s.name.rfind("127.0.0.1:", 0), 0u) << s.name;
}

TEST_F(listener_test, Ipv6LoopbackInBrackets) {
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6 here";
  ::close(probe);
  auto s_r = os::bind_socket(tcp("[::1]", 0), 16);
  if (!s_r) GTEST_SKIP() << "no IPv6 loopback: " << s_r.error().message();
  os::bound_socket s = std::move(*s_r);
  EXPECT_EQ(s.name.rfind("[::1]:", 0), 0u) << s.name;
  EXPECT_NE(port_of(s.name), 0);
}

TEST_F(listener_test, UsedPortFailsNamingTheAddress) {
  auto first_r = os::bind_socket(tcp("127.0.0.1", 0), 16);
  ASSERT_TRUE(first_r.ok()) << first_r.error().message();
  os::bound_socket first = std::move(*first_r);
  const std::uint16_t port = port_of(first.name);
  auto second = os::bind_socket(tcp("127.0.0.1", port), 16);
  const std::error_code ec = second.error().code();
  const std::string& why = second.error().message();
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec, std::errc::address_in_use);
  EXPECT_NE(why.find("cannot bind 127.0.0.1:" + std::to_string(port)), std::string::npos) << why;
  EXPECT_NE(why.find(std::strerror(EADDRINUSE)), std::string::npos) << why;
  EXPECT_FALSE(second.ok());  // no socket is made
}

TEST_F(listener_test, BadHostFailsWithoutAQuery) {
  auto s = os::bind_socket(tcp("bad..host", 3031), 16);
  std::string why = s.error().message();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(why.find("cannot bind bad..host:3031"), std::string::npos) << why;
  EXPECT_NE(why.find("invalid host name"), std::string::npos) << why;
  auto t = os::bind_socket(tcp("no host!", 3031), 16);
  why = t.error().message();
  EXPECT_FALSE(t.ok());
  EXPECT_NE(why.find("no host!"), std::string::npos) << why;
}

TEST_F(listener_test, UnixSocketIsBoundWorldWritable) {
  const std::string path = dir_ / "node.sock";
  auto s_r = os::bind_socket(unix_path(path), 16);
  ASSERT_TRUE(s_r.ok()) << s_r.error().message();
  os::bound_socket s = std::move(*s_r);
  EXPECT_EQ(s.name, path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_TRUE(can_connect_unix(path));
}

TEST_F(listener_test, StaleUnixSocketFileIsReplaced) {
  const std::string path = dir_ / "stale.sock";
  {
    auto old_r = os::bind_socket(unix_path(path), 16);
    ASSERT_TRUE(old_r.ok()) << old_r.error().message();
    os::bound_socket old = std::move(*old_r);
  }  // closed, file left behind: nobody listens there any more
  ASSERT_TRUE(std::filesystem::exists(path));
  ASSERT_FALSE(can_connect_unix(path));
  auto s_r = os::bind_socket(unix_path(path), 16);
  ASSERT_TRUE(s_r.ok()) << s_r.error().message();
  os::bound_socket s = std::move(*s_r);
  EXPECT_TRUE(can_connect_unix(path));
}

TEST_F(listener_test, LiveUnixSocketIsNotStolen) {
  const std::string path = dir_ / "live.sock";
  auto live_r = os::bind_socket(unix_path(path), 16);
  ASSERT_TRUE(live_r.ok()) << live_r.error().message();
  os::bound_socket live = std::move(*live_r);
  auto s = os::bind_socket(unix_path(path), 16);
  const std::string& why = s.error().message();
  EXPECT_EQ(s.error().code(), std::errc::address_in_use);
  EXPECT_NE(why.find("cannot bind " + path), std::string::npos) << why;
  EXPECT_TRUE(can_connect_unix(path));
}

TEST_F(listener_test, RegularFileIsNotRemoved) {
  const std::string path = dir_ / "data.txt";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  EXPECT_FALSE(os::bind_socket(unix_path(path), 16).ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
}

TEST_F(listener_test, TooLongUnixPathFails) {
  auto s = os::bind_socket(unix_path(dir_ / std::string(200, 'x')), 16);
  const std::string& why = s.error().message();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(why.find("unix socket path"), std::string::npos) << why;
}

TEST_F(listener_test, MissingDirectoryFailsWithTheReason) {
  const std::string path = dir_ / "no/such/dir.sock";
  auto s = os::bind_socket(unix_path(path), 16);
  const std::string& why = s.error().message();
  EXPECT_EQ(s.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(why.find("cannot bind " + path + ": "), std::string::npos) << why;
}

}  // namespace
}  // namespace brood::os

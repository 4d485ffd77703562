// os_launcher::listen: on-demand sockets on loopback TCP and in a temp dir, armed and disarmed;
// self_exe.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include "brood/os/child_process.hpp"
#include "brood/os/unique_fd.hpp"
#include "os_launcher_fixture.hpp"

namespace brood::emperor {
namespace {

class on_demand_socket_test : public os_launcher_test {
 protected:
  // Connects to `s` (TCP on 127.0.0.1 or its UNIX path) and sends one byte; the fd stays open.
  os::unique_fd connect_to(const on_demand_socket& s, bool tcp) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    EXPECT_EQ(::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&ss), &len), 0);
    os::unique_fd c(::socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (tcp) {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      EXPECT_EQ(in->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    }
    EXPECT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << std::strerror(errno);
    EXPECT_EQ(::write(c.get(), "x", 1), 1);
    return c;
  }

  void expect_reported_only_when_armed(on_demand_socket& s, bool tcp) {
    auto client = connect_to(s, tcp);
    EXPECT_FALSE(run_until([&] { return !rec_.connections.empty(); }, 100ms));  // disarmed
    s.arm(true);
    ASSERT_TRUE(run_until([&] { return !rec_.connections.empty(); }));
    EXPECT_EQ(rec_.connections.front(), "od.ini");
    s.arm(false);
    rec_.connections.clear();
    EXPECT_FALSE(run_until([&] { return !rec_.connections.empty(); }, 100ms));
  }
};

TEST_F(on_demand_socket_test, TcpConnectionIsReportedWhileArmed) {
  std::error_code ec;
  auto s = launcher_.listen("od.ini", "127.0.0.1:0", ec);
  ASSERT_NE(s, nullptr) << ec.message();
  EXPECT_EQ(s->address(), "127.0.0.1:0");
  const int flags = ::fcntl(s->fd(), F_GETFL);
  EXPECT_TRUE(flags & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(s->fd(), F_GETFD) & FD_CLOEXEC);
  expect_reported_only_when_armed(*s, true);
}

TEST_F(on_demand_socket_test, UnixSocketIsWorldWritableAndUnlinkedOnDestruction) {
  const std::string path = dir_ / "od.socket";
  { std::ofstream stale(path); }  // a leftover non-socket file is not overwritten...
  std::error_code ec;
  EXPECT_EQ(launcher_.listen("od.ini", path, ec), nullptr);
  EXPECT_TRUE(ec);
  std::filesystem::remove(path);
  auto s = launcher_.listen("od.ini", path, ec);
  ASSERT_NE(s, nullptr) << ec.message();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  expect_reported_only_when_armed(*s, false);
  s->arm(true);
  s.reset();  // armed: unwatched, closed and unlinked
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(run_until([&] { return !rec_.connections.empty(); }, 50ms));
}

TEST_F(on_demand_socket_test, StaleUnixSocketIsReplaced) {
  const std::string path = dir_ / "od.socket";
  std::error_code ec;
  auto first = launcher_.listen("od.ini", path, ec);
  ASSERT_NE(first, nullptr) << ec.message();
  first.reset();
  ASSERT_FALSE(std::filesystem::exists(path));
  // A socket file left by a dead process: bind it by hand, then close without unlinking.
  {
    os::unique_fd raw(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strcpy(un.sun_path, path.c_str());
    ASSERT_EQ(::bind(raw.get(), reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  }
  auto second = launcher_.listen("od.ini", path, ec);
  EXPECT_NE(second, nullptr) << ec.message();
}

TEST_F(on_demand_socket_test, BadAddressIsRefused) {
  std::error_code ec;
  EXPECT_EQ(launcher_.listen("od.ini", "127.0.0.1:70000", ec), nullptr);
  EXPECT_TRUE(ec);
}

TEST_F(on_demand_socket_test, SelfExeIsThisProgram) {
  const std::string exe = os::self_exe().value();
  ASSERT_FALSE(exe.empty());
  EXPECT_EQ(exe.front(), '/');
  EXPECT_TRUE(std::filesystem::equivalent(exe, "/proc/self/exe"));
}

}  // namespace
}  // namespace brood::emperor

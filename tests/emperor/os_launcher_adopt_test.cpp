// os_launcher::adopt against a small fake fork server written here (a forked child of the test,
// which is a child subreaper like the emperor): it accepts a connection, reads the request with
// its fds, forks twice and the grandchild replies with its pid, sends ready (1) on the channel it
// received and records what it got. Also the refusals: no server, a closed connection, a bad
// reply, no reply in time.
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "brood/os/address.hpp"
#include "brood/os/fd_passing.hpp"
#include "brood/os/listener.hpp"
#include "brood/wire/fork_protocol.hpp"
#include "os_launcher_fixture.hpp"

namespace brood::emperor {
namespace {

enum class server_mode { serve, refuse, bad_reply, silent };

void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

// The adopted vassal: reports its fds, sends ready, appends every command byte it reads to
// DIR/got.PID, exits on 0 or EOF.
[[noreturn]] void fake_vassal(const std::string& dir, std::vector<os::unique_fd>& fds) {
  const std::string report = dir + "/vassal." + std::to_string(::getpid());
  std::string text = "fds " + std::to_string(fds.size()) + "\n";
  for (std::size_t i = 1; i < fds.size(); ++i) {
    int listening = 0;
    socklen_t len = sizeof listening;
    ::getsockopt(fds[i].get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
    text += "fd " + std::to_string(i) + (listening ? " listening\n" : " other\n");
  }
  append(report, text);
  const int channel = fds[0].get();
  const std::uint8_t ready = 1;
  (void)!::write(channel, &ready, 1);
  for (;;) {
    std::uint8_t b = 0;
    if (::read(channel, &b, 1) != 1) ::_exit(0);
    append(dir + "/got." + std::to_string(::getpid()), std::to_string(int(b)) + "\n");
    if (b == 0) ::_exit(0);
  }
}

// Serves one request on `listener` as `mode` says, writing the raw request to DIR/request.bin.
void serve_one(int listener, const std::string& dir, server_mode mode) {
  os::unique_fd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) ::_exit(2);
  if (mode == server_mode::refuse) return;
  std::vector<char> buf(70000);
  auto first = os::receive_with_fds(conn.get(), buf, wire::max_fork_fds);
  if (!first || first->size < 4) {
    append(dir + "/served", first ? "short\n" : first.error().message() + "\n");
    ::_exit(3);
  }
  std::size_t got = first->size;
  const std::size_t want = 4 + (std::uint8_t(buf[1]) | std::uint8_t(buf[2]) << 8);
  while (got < want) {
    const ssize_t n = ::read(conn.get(), buf.data() + got, want - got);
    if (n <= 0) ::_exit(4);
    got += static_cast<std::size_t>(n);
  }
  std::ofstream(dir + "/request.bin", std::ios::binary).write(buf.data(), got);
  if (mode == server_mode::silent) {
    char c;
    (void)!::read(conn.get(), &c, 1);  // until the emperor gives up
    return;
  }
  if (mode == server_mode::bad_reply) {
    const char junk[] = {35, 3, 0, 0, 'x', 'y', 'z'};
    (void)!::write(conn.get(), junk, sizeof junk);
    return;
  }
  const pid_t middle = ::fork();
  if (middle == 0) {
    if (::fork() == 0) {
      const wire::bytes reply = wire::encode_fork_reply(::getpid());
      (void)!::write(conn.get(), reply.data(), reply.size());
      conn.reset();
      fake_vassal(dir, first->fds);
    }
    ::_exit(0);
  }
  int st;
  ::waitpid(middle, &st, 0);
}

// Serves `requests` requests, then exits.
[[noreturn]] void fake_fork_server(int listener, const std::string& dir, server_mode mode,
                                   int requests) {
  ::fcntl(listener, F_SETFL, ::fcntl(listener, F_GETFL) & ~O_NONBLOCK);  // bind_socket's is not
  for (int i = 0; i < requests; ++i) serve_one(listener, dir, mode);
  ::_exit(0);
}

class os_launcher_adopt_test : public os_launcher_test {
 protected:
  void SetUp() override { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
  void TearDown() override {
    if (server_ > 0) {
      EXPECT_NE(wait_exit(server_), -1);
    }
  }

  // Binds DIR/fork.sock and forks the fake server on it.
  void start_server(server_mode mode, int requests = 1) {
    auto addr = os::parse_address(socket_path());
    ASSERT_TRUE(addr);
    auto bound = os::bind_socket(*addr, 10);
    ASSERT_TRUE(bound) << bound.error().message();
    server_ = ::fork();
    ASSERT_GE(server_, 0);
    if (server_ == 0) fake_fork_server(bound->fd.get(), dir_.path(), mode, requests);
  }
  std::string socket_path() const { return dir_.path() + "/fork.sock"; }
  launch_spec spec() const {
    launch_spec s;
    s.name = "app.ini";
    s.argv = {"/usr/bin/brood", "--ini", "/etc/vassals/app.ini"};
    s.unset = {"UWSGI_RELOADS", "NOTIFY_SOCKET"};
    return s;
  }
  std::string file(const std::string& name) const { return read_file(dir_.path() + "/" + name); }
  wire::bytes request() const {
    const std::string s = file("request.bin");
    return wire::bytes(s.begin(), s.end());
  }

  pid_t server_ = -1;
};

TEST_F(os_launcher_adopt_test, ARequestIsUwsgisBytesAndTheGrandchildIsManaged) {
  start_server(server_mode::serve);
  adopt_result r = launcher_.adopt(spec(), socket_path(), {});
  ASSERT_NE(r.process, nullptr) << r.error;
  const pid_t pid = r.process->pid();
  wire::bytes expected;
  wire::fork_request req;
  req.argv = spec().argv;
  ASSERT_FALSE(wire::encode_fork_request(req, expected));
  EXPECT_EQ(request(), expected);  // no 0x10 when spec.set is empty
  EXPECT_EQ(request()[3], 0x01);
  ASSERT_TRUE(run_until([&] { return !rec_.messages.empty(); }));
  EXPECT_EQ(rec_.messages[0], std::make_pair(pid, std::uint8_t{1}));
  EXPECT_EQ(file("vassal." + std::to_string(pid)), "fds 1\n");
  EXPECT_TRUE(r.process->send(wire::emperor_command::reload));
  EXPECT_TRUE(r.process->send(wire::emperor_command::stop));
  ASSERT_TRUE(run_until([&] { return rec_.closed.count(pid) > 0; }));
  // Re-parented to this subreaper: reaped here.
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_EQ(file("got." + std::to_string(pid)), "1\n0\n");
}

TEST_F(os_launcher_adopt_test, SignalsGoThroughThePidfd) {
  start_server(server_mode::serve);
  adopt_result r = launcher_.adopt(spec(), socket_path(), {});
  ASSERT_NE(r.process, nullptr) << r.error;
  ASSERT_TRUE(run_until([&] { return !rec_.messages.empty(); }));
  r.process->signal(SIGKILL);
  const int st = wait_exit(r.process->pid());
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  r.process->signal(SIGKILL);  // reaped: ESRCH is ignored
}

TEST_F(os_launcher_adopt_test, EnvironmentChangesAndSocketsUseTheExtensions) {
  start_server(server_mode::serve, 2);
  auto addr = os::parse_address("127.0.0.1:0");
  ASSERT_TRUE(addr);
  auto listening = os::bind_socket(*addr, 10);
  ASSERT_TRUE(listening);
  os::unique_fd od(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  launch_spec s = spec();
  s.set = {"UWSGI_FOO=bar"};
  s.stdin_fd = od.get();
  const int inherited[] = {listening->fd.get()};
  adopt_result r = launcher_.adopt(s, socket_path(), inherited);
  ASSERT_NE(r.process, nullptr) << r.error;
  wire::fork_request req;
  req.argv = s.argv;
  req.on_demand_fd = true;
  req.sockets = 1;
  req.env = {"UWSGI_RELOADS", "NOTIFY_SOCKET", "UWSGI_FOO=bar"};
  wire::bytes expected;
  ASSERT_FALSE(wire::encode_fork_request(req, expected));
  EXPECT_EQ(request(), expected);
  EXPECT_EQ(request()[3], 0x01 | 0x04 | 0x08 | 0x10);
  ASSERT_TRUE(run_until([&] { return !rec_.messages.empty(); }));
  EXPECT_EQ(file("vassal." + std::to_string(r.process->pid())),
            "fds 3\nfd 1 other\nfd 2 listening\n");
  // The emperor takes the vassal's listening sockets back (a re-fork): the inherited one and
  // the fork server's own socket, which this fake vassal still holds.
  std::string error;
  std::vector<os::unique_fd> taken = r.process->listening_sockets(error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(taken.size(), 2u);
  sockaddr_storage b{};
  socklen_t lb = sizeof b;
  ::getsockname(listening->fd.get(), reinterpret_cast<sockaddr*>(&b), &lb);
  int same = 0;
  for (const auto& t : taken) {
    sockaddr_storage a{};
    socklen_t la = sizeof a;
    ::getsockname(t.get(), reinterpret_cast<sockaddr*>(&a), &la);
    same += la == lb && std::memcmp(&a, &b, la) == 0;
  }
  EXPECT_EQ(same, 1);
  // The re-fork's request passes the TCP socket only, never the fork server's socket.
  std::vector<int> fds;
  for (const auto& t : taken) fds.push_back(t.get());
  adopt_result next = launcher_.adopt(spec(), socket_path(), fds);
  ASSERT_NE(next.process, nullptr) << next.error;
  EXPECT_EQ(request()[3], 0x01 | 0x08);
  ASSERT_TRUE(run_until([&] { return rec_.messages.size() >= 2; }));
  EXPECT_EQ(file("vassal." + std::to_string(next.process->pid())), "fds 2\nfd 1 listening\n");
  r.process->send(wire::emperor_command::stop);
  next.process->send(wire::emperor_command::stop);
  EXPECT_EQ(wait_exit(r.process->pid()), 0);
  EXPECT_EQ(wait_exit(next.process->pid()), 0);
}

TEST_F(os_launcher_adopt_test, NoServerIsAClearError) {
  adopt_result r = launcher_.adopt(spec(), socket_path(), {});
  EXPECT_EQ(r.process, nullptr);
  EXPECT_EQ(r.error, "cannot connect to " + socket_path() + ": No such file or directory");
  EXPECT_FALSE(r.timed_out);
}

TEST_F(os_launcher_adopt_test, AClosedConnectionIsARefusal) {
  start_server(server_mode::refuse);
  adopt_result r = launcher_.adopt(spec(), socket_path(), {});
  EXPECT_EQ(r.process, nullptr);
  EXPECT_NE(r.error.find("without a reply"), std::string::npos) << r.error;
}

TEST_F(os_launcher_adopt_test, ABadReplyIsRefused) {
  start_server(server_mode::bad_reply);
  adopt_result r = launcher_.adopt(spec(), socket_path(), {});
  EXPECT_EQ(r.process, nullptr);
  EXPECT_EQ(r.error.rfind("bad reply from " + socket_path(), 0), 0u) << r.error;
}

TEST_F(os_launcher_adopt_test, NoReplyInTimeIsRefused) {
  start_server(server_mode::silent);
  launcher_.set_fork_timeout(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  adopt_result r = launcher_.adopt(spec(), socket_path(), {});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(r.process, nullptr);
  EXPECT_EQ(r.error, "no reply from " + socket_path() + " within 200 ms");
  EXPECT_TRUE(r.timed_out);
}

}  // namespace
}  // namespace brood::emperor

// read_fork_request over a socketpair: the request with its fds and credentials, and each
// refusal with its error code (the cases a real connection cannot produce, such as a request
// without credentials, included).
#include "fork_server_request.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "brood/os/fd_passing.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

class fork_request_reader_test : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    reader_.reset(sv[0]);
    writer_.reset(sv[1]);
  }

  void pass_credentials() {
    const int on = 1;
    ASSERT_EQ(::setsockopt(reader_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
  }

  static wire::bytes packet_of(const wire::fork_request& r) {
    wire::bytes out;
    EXPECT_FALSE(wire::encode_fork_request(r, out));
    return out;
  }

  void send(const wire::bytes& data, std::vector<int> fds) {
    const os::status st = os::send_with_fds(writer_.get(), wire::as_chars(data), fds);
    ASSERT_TRUE(st.ok()) << st.message();
  }

  os::result<received_fork_request> read(std::chrono::milliseconds within = 2s) {
    return read_fork_request(reader_.get(), ::geteuid(), clock::now() + within);
  }

  static int code(const os::result<received_fork_request>& r) { return r.error().code().value(); }

  os::unique_fd reader_, writer_;
};

TEST_F(fork_request_reader_test, ReadsTheRequestItsFdsAndTheCredentials) {
  pass_credentials();
  wire::fork_request r;
  r.argv = {"brood", "--ini", "a.ini"};
  r.on_demand_fd = true;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  send(packet_of(r), {pipe_fds[0], pipe_fds[1]});
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  auto got = read();
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->request, r);
  ASSERT_EQ(got->fds.size(), 2u);
  for (const auto& fd : got->fds) EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::write(got->fds[1].get(), "x", 1), 1);  // the same pipe, in order
  char c = 0;
  EXPECT_EQ(::read(got->fds[0].get(), &c, 1), 1);
  EXPECT_EQ(got->peer_pid, ::getpid());
}

TEST_F(fork_request_reader_test, ReadsARequestSentInPieces) {
  pass_credentials();
  wire::fork_request r;
  r.argv = {"brood", "--socket", "/tmp/x.sock"};
  const wire::bytes packet = packet_of(r);
  send(wire::bytes(packet.begin(), packet.begin() + 2), {writer_.get()});
  ASSERT_EQ(::write(writer_.get(), packet.data() + 2, 5), 5);
  ASSERT_EQ(::write(writer_.get(), packet.data() + 7, packet.size() - 7),
            static_cast<ssize_t>(packet.size() - 7));
  ASSERT_EQ(::write(writer_.get(), "next", 4), 4);
  auto got = read();
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->request.argv, r.argv);
  char rest[8] = {};
  EXPECT_EQ(::read(reader_.get(), rest, sizeof rest), 4);  // bytes after the body left unread
  EXPECT_STREQ(rest, "next");
}

TEST_F(fork_request_reader_test, RefusesARequestWithoutCredentials) {
  wire::fork_request r;
  r.argv = {"brood"};
  send(packet_of(r), {writer_.get()});
  auto got = read();
  ASSERT_FALSE(got);
  EXPECT_EQ(code(got), EACCES);
  EXPECT_NE(got.error().message().find("no credentials"), std::string::npos);
}

TEST_F(fork_request_reader_test, RefusesCredentialsOfAnotherUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root may send another uid's credentials";
  pass_credentials();
  wire::fork_request r;
  r.argv = {"brood"};
  const wire::bytes packet = packet_of(r);
  // One sendmsg with SCM_CREDENTIALS (uid 65534) and SCM_RIGHTS (one fd).
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<wire::byte*>(packet.data()), packet.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(ucred));
  const ucred forged{::getpid(), 65534, 65534};
  std::memcpy(CMSG_DATA(c), &forged, sizeof forged);
  c = CMSG_NXTHDR(&msg, c);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int fd = writer_.get();
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ASSERT_EQ(::sendmsg(writer_.get(), &msg, 0), static_cast<ssize_t>(packet.size()))
      << std::strerror(errno);
  auto got = read();
  ASSERT_FALSE(got);
  EXPECT_EQ(code(got), EACCES);
  EXPECT_NE(got.error().message().find("peer uid 65534"), std::string::npos)
      << got.error().message();
}

TEST_F(fork_request_reader_test, RefusesTooManyFds) {
  pass_credentials();
  wire::fork_request r;
  r.argv = {"brood"};
  send(packet_of(r), std::vector<int>(wire::max_fork_fds + 1, writer_.get()));
  auto got = read();
  ASSERT_FALSE(got);
  EXPECT_EQ(code(got), EMSGSIZE);
}

TEST_F(fork_request_reader_test, RefusesABadHeaderBeforeItsBody) {
  pass_credentials();
  const wire::bytes header = {0, 200, 0, 1};  // modifier1 0; a body that never comes
  send(header, {writer_.get()});
  auto got = read();
  ASSERT_FALSE(got);
  EXPECT_EQ(code(got), EPROTO);
  EXPECT_NE(got.error().message().find("bad header"), std::string::npos);
}

TEST_F(fork_request_reader_test, TimesOutAtTheDeadline) {
  pass_credentials();
  const auto before = clock::now();
  auto got = read(50ms);
  ASSERT_FALSE(got);
  EXPECT_EQ(code(got), ETIMEDOUT);
  EXPECT_GE(clock::now() - before, 50ms);
  EXPECT_LT(clock::now() - before, 2s);
}

TEST_F(fork_request_reader_test, RefusesEofBeforeTheEnd) {
  pass_credentials();
  wire::fork_request r;
  r.argv = {"brood"};
  wire::bytes packet = packet_of(r);
  packet.pop_back();
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  send(packet, {pipe_fds[0]});  // not writer_ itself: a copy in flight would keep it open
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  writer_.reset();
  auto got = read();
  ASSERT_FALSE(got);
  EXPECT_EQ(code(got), ECONNRESET);
  EXPECT_NE(got.error().message().find("while reading the body"), std::string::npos);
}

}  // namespace
}  // namespace brood::node

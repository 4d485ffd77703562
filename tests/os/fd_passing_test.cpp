// send_with_fds / receive_with_fds over a socketpair: fds arrive working and close-on-exec, data
// and fds come in one message, truncated control data closes what arrived and says so.
#include "brood/os/fd_passing.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace brood::os {
namespace {

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

class fd_passing_test : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    sender_.reset(sv[0]);
    receiver_.reset(sv[1]);
    for (auto& p : pipes_) {
      int fds[2];
      ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
      p[0].reset(fds[0]);
      p[1].reset(fds[1]);
    }
  }
  // Sends "hello" with the write ends of the three pipes.
  void send_three() {
    const std::array<int, 3> fds{pipes_[0][1].get(), pipes_[1][1].get(), pipes_[2][1].get()};
    ASSERT_TRUE(send_with_fds(sender_.get(), "hello", fds).ok());
  }

  unique_fd sender_, receiver_;
  std::array<std::array<unique_fd, 2>, 3> pipes_;
  std::array<char, 32> buffer_{};
};

TEST_F(fd_passing_test, ThreeFdsArriveWithTheDataAndWork) {
  send_three();
  auto got = receive_with_fds(receiver_.get(), buffer_, 8);
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(std::string(buffer_.data(), got->size), "hello");
  EXPECT_FALSE(got->fds_truncated);
  ASSERT_EQ(got->fds.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NE(got->fds[i].get(), pipes_[i][1].get());
    EXPECT_EQ(::fcntl(got->fds[i].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    const char c = static_cast<char>('a' + i);
    ASSERT_EQ(::write(got->fds[i].get(), &c, 1), 1);
    char back = 0;
    ASSERT_EQ(::read(pipes_[i][0].get(), &back, 1), 1);
    EXPECT_EQ(back, c);
  }
}

TEST_F(fd_passing_test, DataWithoutFds) {
  ASSERT_TRUE(send_with_fds(sender_.get(), "x", {}).ok());
  auto got = receive_with_fds(receiver_.get(), buffer_, 4);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size, 1u);
  EXPECT_TRUE(got->fds.empty());
  EXPECT_FALSE(got->fds_truncated);
}

TEST_F(fd_passing_test, TruncatedControlDataClosesWhatArrived) {
  const std::size_t before = open_fd_count();
  send_three();
  auto got = receive_with_fds(receiver_.get(), buffer_, 1);
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_TRUE(got->fds_truncated);
  EXPECT_TRUE(got->fds.empty());
  EXPECT_EQ(std::string(buffer_.data(), got->size), "hello");  // the data still came
  EXPECT_EQ(open_fd_count(), before);                          // nothing leaked
}

TEST_F(fd_passing_test, PeerClosedIsAnEmptyMessage) {
  sender_.reset();
  auto got = receive_with_fds(receiver_.get(), buffer_, 8);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size, 0u);
  EXPECT_TRUE(got->fds.empty());
}

TEST_F(fd_passing_test, ErrorsNameTheOperation) {
  receiver_.reset();
  const status st = send_with_fds(sender_.get(), "x", std::array<int, 1>{pipes_[0][0].get()});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code().value(), EPIPE);
  EXPECT_EQ(st.message().rfind("cannot send 1 fds: ", 0), 0u) << st.message();
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  unique_fd a(sv[0]), b(sv[1]);
  auto got = receive_with_fds(a.get(), buffer_, 1);  // nothing sent yet
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code().value(), EAGAIN);
  EXPECT_EQ(got.error().message().rfind("cannot receive fds: ", 0), 0u);
}

}  // namespace
}  // namespace brood::os

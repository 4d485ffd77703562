// A vassal that is re-forked (docs/uwsgi-compat.md §17): it serves the listening sockets of its
// predecessor that BROOD_INHERITED_SOCKETS names instead of binding them again (uwsgi, stats),
// closes the inherited ones it no longer has, and on the emperor's hand-over byte (3) stops
// gracefully leaving its unix socket files to the successor.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "brood/os/address.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/unique_fd.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

ino_t inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class hand_over_test : public ::testing::Test {
 protected:
  // primes_node (brood with an echo handler) with `args`, its environment plus `env` ("K=V"), every
  // fd of `keep` inherited.
  void start(std::vector<std::string> args, std::vector<std::string> env, std::vector<int> keep) {
    node_.start([&] {
      for (int fd : keep) ::fcntl(fd, F_SETFD, 0);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv{const_cast<char*>(BROOD_PRIMES_NODE)};
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(BROOD_PRIMES_NODE, argv.data());
      return 127;
    });
  }

  os::bound_socket bind(const std::string& text) {
    auto addr = os::parse_address(text);
    EXPECT_TRUE(addr.ok());
    auto s = os::bind_socket(*addr, 16);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return std::move(*s);
  }

  temp_dir dir_{"brood_hand_over_"};
  node_process node_;
};

TEST_F(hand_over_test, InheritedSocketsAreServedByAddressAndTheRestClosed) {
  const std::string path = dir_.path() + "/u.sock";
  os::bound_socket unix_socket = bind(path);
  os::bound_socket tcp = bind("127.0.0.1:0");
  os::bound_socket stats = bind("127.0.0.1:0");
  os::bound_socket gone = bind("127.0.0.1:0");  // the predecessor's, not configured any more
  const std::string zerg_path = dir_.path() + "/z.sock";
  os::bound_socket zerg = bind(zerg_path);
  const ino_t before = inode(path);
  const std::string list = std::to_string(unix_socket.fd.get()) + "," +
                           std::to_string(tcp.fd.get()) + "," + std::to_string(stats.fd.get()) +
                           "," + std::to_string(gone.fd.get()) + "," +
                           std::to_string(zerg.fd.get());
  const ino_t zerg_before = inode(zerg_path);
  start({"--master", "--socket", path, "--socket", tcp.name, "--stats", stats.name, "--zerg-server",
         zerg_path},
        {"BROOD_INHERITED_SOCKETS=" + list},
        {unix_socket.fd.get(), tcp.fd.get(), stats.fd.get(), gone.fd.get(), zerg.fd.get()});
  ASSERT_TRUE(node_.wait_ready()) << node_.all_output();
  const std::string out = node_.all_output();
  EXPECT_NE(out.find("uwsgi socket 0 inherited from the predecessor as UNIX address " + path),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("uwsgi socket 1 inherited from the predecessor as TCP address " + tcp.name),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("*** Stats server enabled on " + stats.name), std::string::npos) << out;
  EXPECT_NE(out.find("inherited socket " + gone.name), std::string::npos) << out;
  EXPECT_EQ(out.find("bound to"), std::string::npos) << out;
  EXPECT_EQ(inode(path), before);  // the same socket file: never re-bound
  EXPECT_EQ(inode(zerg_path), zerg_before);
  // The test's own copies go: the node's copies serve.
  unix_socket.fd.reset();
  tcp.fd.reset();
  stats.fd.reset();
  EXPECT_TRUE(echo_ok(path)) << node_.all_output();
  EXPECT_TRUE(echo_ok(tcp.name)) << node_.all_output();
  // The leftover was closed in the node: with the test's copy closed too, nobody listens.
  gone.fd.reset();
  EXPECT_FALSE(echo_ok(gone.name, 300ms));
  node_.signal(SIGTERM);
  auto st = node_.wait_exit();
  ASSERT_TRUE(st && WIFEXITED(*st)) << node_.all_output();
  EXPECT_EQ(inode(path), 0u);  // an ordinary stop removes the file it serves
}

class hand_over_byte_test : public hand_over_test, public ::testing::WithParamInterface<int> {};

// Byte 3 (hand over) keeps the unix socket files; byte 2 (graceful stop) removes them.
TEST_P(hand_over_byte_test, UnixSocketFilesStayOnlyAfterAHandOver) {
  const int byte = GetParam();
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  os::unique_fd emperor(pair[0]), vassal(pair[1]);
  const std::string path = dir_.path() + "/v.sock", stats = dir_.path() + "/s.sock",
                    zerg = dir_.path() + "/z.sock";
  start({"--socket", path, "--stats", stats, "--zerg-server", zerg},
        {"UWSGI_EMPEROR_FD=" + std::to_string(vassal.get())}, {vassal.get()});
  vassal.reset();
  ASSERT_TRUE(node_.wait_ready()) << node_.all_output();
  const char b = static_cast<char>(byte);
  ASSERT_EQ(::write(emperor.get(), &b, 1), 1);
  auto st = node_.wait_exit();
  ASSERT_TRUE(st && WIFEXITED(*st)) << node_.all_output();
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  const bool kept = byte == 3;
  EXPECT_EQ(inode(path) != 0, kept) << node_.all_output();
  EXPECT_EQ(inode(stats) != 0, kept);
  EXPECT_EQ(inode(zerg) != 0, kept);
  if (kept)
    EXPECT_NE(node_.all_output().find("handed this vassal's sockets over"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(bytes, hand_over_byte_test, ::testing::Values(2, 3));

}  // namespace
}  // namespace brood::testing

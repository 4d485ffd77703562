// serve_fork_server stopping: a byte or EOF on the base's emperor channel, a signal, a PATH that
// cannot be bound; the socket file removed unless a successor bound PATH; and an adopted vassal
// that finds no emperor once re-parented.
#include <sys/stat.h>
#include <unistd.h>

#include "fork_server_fixture.hpp"

namespace brood::node::test {
namespace {

class fork_server_stop_test : public fork_server_test {
 protected:
  // The base's exit code (-1 when it did not exit normally in time).
  int base_exit_code() {
    const auto status = base_.wait_exit(5s);
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  bool path_exists() const { return ::access(path_.c_str(), F_OK) == 0; }
};

TEST_F(fork_server_stop_test, AnEmperorByteStopsTheBaseWithStatus0) {
  start_base();
  ASSERT_TRUE(wait_ready());
  ASSERT_TRUE(path_exists());
  const char stop = 0;
  ASSERT_EQ(::write(emperor_.get(), &stop, 1), 1);
  EXPECT_EQ(base_exit_code(), 0) << base_.all_output();
  EXPECT_TRUE(base_.wait_for("fork server: the emperor sent byte 0; stopping"));
  EXPECT_FALSE(path_exists());
}

TEST_F(fork_server_stop_test, AnyEmperorByteStopsTheBase) {
  start_base();
  ASSERT_TRUE(wait_ready());
  const char reload = 1;
  ASSERT_EQ(::write(emperor_.get(), &reload, 1), 1);
  EXPECT_EQ(base_exit_code(), 0) << base_.all_output();
  EXPECT_TRUE(base_.wait_for("the emperor sent byte 1; stopping"));
}

TEST_F(fork_server_stop_test, EmperorEofStopsTheBaseWithStatus1) {
  start_base();
  ASSERT_TRUE(wait_ready());
  emperor_.reset();
  EXPECT_EQ(base_exit_code(), 1) << base_.all_output();
  EXPECT_TRUE(base_.wait_for("fork server: the emperor channel is closed; stopping"));
  EXPECT_FALSE(path_exists());
}

TEST_F(fork_server_stop_test, SigtermStopsTheBaseWithStatus0) {
  start_base();
  ASSERT_TRUE(wait_ready());
  base_.signal(SIGTERM);
  EXPECT_EQ(base_exit_code(), 0) << base_.all_output();
  EXPECT_TRUE(base_.wait_for("fork server: SIGTERM received; stopping"));
}

TEST_F(fork_server_stop_test, WithoutAnEmperorItServesUntilASignal) {
  emperor_.reset();
  base_end_.reset();  // no channel: UWSGI_EMPEROR_FD is not set
  start_base();
  ASSERT_TRUE(base_.wait_for("fork server: waiting for requests on " + path_))
      << base_.all_output();
  auto [channel, pid] = adopt(request({"brood", "--ini", "lonely.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();
  EXPECT_EQ(facts_of(channel.get(), pid).at("argv"), "brood|--ini|lonely.ini");
  base_.signal(SIGINT);
  EXPECT_EQ(base_exit_code(), 0) << base_.all_output();
}

TEST_F(fork_server_stop_test, APathThatCannotBeBoundIsStatus2) {
  start_base(4s, dir_ / "missing/fork.sock");
  EXPECT_EQ(base_exit_code(), 2) << base_.all_output();
  EXPECT_TRUE(base_.wait_for("fork server: cannot bind"));
}

TEST_F(fork_server_stop_test, LeavesASuccessorsSocketFileInPlace) {
  start_base();
  ASSERT_TRUE(wait_ready());
  // A successor binds the same path (the stale file replaced), then the old base stops.
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  os::unique_fd successor(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
  ASSERT_EQ(::bind(successor.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  base_.signal(SIGTERM);
  EXPECT_EQ(base_exit_code(), 0);
  EXPECT_TRUE(path_exists());
}

TEST_F(fork_server_stop_test, AnAdoptedVassalWithoutItsEmperorExits) {
  // The base's parent is an intermediate process, not this subreaper: once re-parented here,
  // the adopted vassal's parent is not the base's parent, so its emperor is gone.
  const int channel = base_end_.get(), test_end = emperor_.get();
  const std::string path = path_;
  base_.start([=] {
    const pid_t base = ::fork();
    if (base == 0) ::_exit(base_body(path, channel, test_end, 4s));
    int status = 0;
    ::waitpid(base, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  });
  base_end_.reset();
  ASSERT_TRUE(wait_ready());
  auto [vassal_channel, pid] = adopt(request({"brood", "--ini", "orphan.ini"}));
  ASSERT_GT(pid, 0) << base_.all_output();
  EXPECT_EQ(read_to_eof(vassal_channel.get()), "");  // no facts: it exits first
  const auto status = reap(static_cast<pid_t>(pid));
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << *status;
  EXPECT_TRUE(base_.wait_for("the emperor is gone; exiting")) << base_.all_output();
}

}  // namespace
}  // namespace brood::node::test

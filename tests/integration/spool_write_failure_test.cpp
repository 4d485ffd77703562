// A spool write the OS refuses (read-only filesystem, no space left) answers FF 00 00 00 and
// leaves nothing behind. The node runs in a private mount namespace (`unshare -m`) over its own
// small tmpfs; the test looks into it through /proc/PID/root. Needs root: skipped otherwise.
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "brood/client/spool.hpp"
#include "spool_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* unshare_binary = "/usr/bin/unshare";

class spool_write_failure_test : public spool_fixture {
 protected:
  void SetUp() override {
    spool_fixture::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs in a private namespace needs root";
    const std::string probe =
        std::string(unshare_binary) + " -m --propagation private true >/dev/null 2>&1";
    if (std::system(probe.c_str()) != 0)
      GTEST_SKIP() << "unshare -m does not work here (no mount namespaces)";
    mnt_ = dir_ / "mnt";
    fs::create_directory(mnt_);
  }

  // Starts a node whose spool dir MNT/spool lies on a 32 KiB tmpfs private to it; `setup` runs
  // (sh) after the mount, before the node starts.
  std::string start_on_tmpfs(const std::string& setup) {
    const std::string script = "set -e; mount -t tmpfs -o size=32k brood-spool-test " + mnt_ +
                               "; mkdir " + mnt_ + "/spool; " + setup + "; exec " + BROOD_BINARY +
                               " --socket 127.0.0.1:0 --buffer-size 65535 --spooler-external " +
                               mnt_ + "/spool";
    std::string address =
        start(unshare_binary, {"-m", "--propagation", "private", "/bin/sh", "-c", script});
    EXPECT_TRUE(proc().wait_ready()) << proc().all_output();
    return address;
  }
  // MNT as the node sees it.
  std::string inside(const std::string& rel) const {
    return "/proc/" + std::to_string(procs_.at(0)->pid()) + "/root" + mnt_ + rel;
  }
  // Checks the spool dir is seen through the node's namespace (the tmpfs, not the host dir).
  void expect_private_mount() {
    EXPECT_TRUE(fs::exists(inside("/spool"))) << "the node's tmpfs is not visible";
    EXPECT_FALSE(fs::exists(mnt_ + "/spool")) << "the tmpfs leaked into the test's namespace";
  }

  std::string mnt_;
};

TEST_F(spool_write_failure_test, ReadOnlyFilesystemIsRefusedAndLeavesNothing) {
  const std::string address = start_on_tmpfs("mount -o remount,ro " + mnt_);
  ASSERT_FALSE(address.empty());
  expect_private_mount();
  auto r = client::spool(address, {{"a", "1"}}, "body", 5s);
  ASSERT_FALSE(r) << "a task was acked on a read-only filesystem";
  EXPECT_EQ(r.error().remote_type, "SpoolerRefused") << r.error().message;
  EXPECT_TRUE(entries(inside("/spool")).empty());
  EXPECT_TRUE(proc().wait_for_line(std::regex(R"(refused a task from 127\.0\.0\.1:\d+: .+)"), 5s))
      << proc().all_output();
}

TEST_F(spool_write_failure_test, NoSpaceLeftIsRefusedLeavesNothingAndRecovers) {
  const std::string address =
      start_on_tmpfs("cat /dev/zero > " + mnt_ + "/fill 2>/dev/null || true");
  ASSERT_FALSE(address.empty());
  expect_private_mount();
  const auto task = spool_packet(vars_block({{"a", std::string(20000, 'x')}}));
  EXPECT_EQ(enqueue(address, task), refusal);
  EXPECT_EQ(enqueue(address, spool_packet(vars_block({{"small", "1"}}))), refusal);
  EXPECT_TRUE(entries(inside("/spool")).empty()) << "a half-written file was left behind";
  EXPECT_TRUE(proc().wait_for_line(std::regex(R"(refused a task from 127\.0\.0\.1:\d+: .+)"), 5s))
      << proc().all_output();
  // Space again: the same task is accepted, and it is the only file.
  ASSERT_TRUE(fs::remove(inside("/fill")));
  EXPECT_EQ(enqueue(address, task), ack) << proc().all_output();
  const auto files = task_files(inside("/spool"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(entries(inside("/spool")).size(), 1u);
  std::vector<std::pair<std::string, std::string>> vars;
  EXPECT_TRUE(decode_task(inside("/spool/") + files[0], vars));
}

}  // namespace
}  // namespace brood::testing

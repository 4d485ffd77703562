// Write failures of the spool store on real filesystems: a full tmpfs (ENOSPC) and a read-only
// one (EROFS). Each case runs in a forked child with its own mount namespace (tests run as root,
// where permissions do not stop writes); the child reports through its exit status. Every
// failure must be write_failed, name the OS error, and leave no task and no temp file behind.
#include <sched.h>
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "spool_store_fixture.hpp"

namespace brood::spooler {
namespace {

using namespace testing_spool;

constexpr int no_namespace = 77;  // child exit status: cannot get a mount namespace

bool check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) std::fprintf(stderr, "child: check failed: %s %s\n", what, detail.c_str());
  return ok;
}

bool write_proc(const char* path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return static_cast<bool>(f.flush());
}

// Enters a private mount namespace (and a user namespace when a plain one is refused).
bool private_mounts() {
  if (::unshare(CLONE_NEWNS) != 0) {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (errno != EPERM || ::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      std::fprintf(stderr, "child: unshare: %s\n", std::strerror(errno));
      return false;
    }
    write_proc("/proc/self/setgroups", "deny");
    if (!write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
      return false;
    }
  }
  return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
}

// write_failed, a message naming `err`'s text, and exactly `left` in `dir` afterwards.
bool failed_cleanly(const spooler::spool_status& s, int err, const std::string& dir,
                    const std::vector<std::string>& left) {
  const std::vector<std::string> now = entries(dir);
  std::string listing;
  for (const auto& n : now) listing += n + " ";
  return check(s.error == make_error_code(spooler::spool_errc::write_failed), "write_failed",
               s.message) &&
         check(s.message.find(std::strerror(err)) != std::string::npos, "errno text", s.message) &&
         check(s.message.find(dir) != std::string::npos, "path in message", s.message) &&
         check(now == left, "nothing left behind", listing);
}

class spool_store_fault_test : public spool_store_fixture {
 protected:
  void SetUp() override {
    spool_store_fixture::SetUp();
    dir_ = under("spool");
    ASSERT_EQ(::mkdir(dir_.c_str(), 0750), 0);
  }
  // Runs `body` in a child with a tmpfs (`options`) mounted on dir_.
  void run_on_tmpfs(const char* options, const std::function<int()>& body) {
    const int status = run_in_child([&] {
      if (!private_mounts()) return no_namespace;
      if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options) != 0) {
        std::fprintf(stderr, "child: mount tmpfs: %s\n", std::strerror(errno));
        return 2;
      }
      return body();
    });
    ASSERT_TRUE(WIFEXITED(status)) << "child status " << status;
    if (WEXITSTATUS(status) == no_namespace) {
      GTEST_SKIP() << "neither unshare(CLONE_NEWNS) nor a user namespace is allowed here";
    }
    EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's stderr";
  }

  std::string dir_;
};

TEST_F(spool_store_fault_test, NoSpaceLeavesNothingBehind) {
  run_on_tmpfs("size=64k,mode=0750", [&] {
    const spooler::spool_store store({dir_});
    const spooler::spool_status small = store.enqueue({{"k", "v"}}, "small");
    if (!check(static_cast<bool>(small), "small enqueue", small.message)) return 3;
    const std::vector<std::string> one{file_name_of(small.path)};
    const std::string big(128 * 1024, 'b');
    if (!failed_cleanly(store.enqueue({{"k", "v"}}, big), ENOSPC, dir_, one)) return 4;
    const spooler::spool_status prio = store.enqueue({{"priority", "3"}}, big);
    if (!failed_cleanly(prio, ENOSPC, dir_ + "/3", {})) return 5;
    const spooler::spool_status re = store.rewrite(small.path, {{"k", "w"}}, big, {});
    // The (empty) priority dir stays: only files must not be left behind.
    if (!failed_cleanly(re, ENOSPC, dir_, {"3", one[0]})) return 6;
    const decoded_task t = decode_task_file(small.path);
    if (!check(t.ok && t.body == "small" && t.vars == wire::spool_vars{{"k", "v"}},
               "old task intact"))
      return 7;
    return 0;
  });
}

TEST_F(spool_store_fault_test, ReadOnlyLeavesNothingBehind) {
  run_on_tmpfs("size=1m,mode=0750", [&] {
    const spooler::spool_store store({dir_});
    const spooler::spool_status before = store.enqueue({{"k", "v"}}, {});
    if (!check(static_cast<bool>(before), "enqueue before remount", before.message)) return 3;
    if (::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      std::fprintf(stderr, "child: remount ro: %s\n", std::strerror(errno));
      return 2;
    }
    const std::vector<std::string> one{file_name_of(before.path)};
    if (!failed_cleanly(store.enqueue({{"k", "v"}}, "x"), EROFS, dir_, one)) return 4;
    if (!failed_cleanly(store.enqueue({{"priority", "1"}}, {}), EROFS, dir_, one)) return 5;
    if (!failed_cleanly(store.move_aside(before.path, "failed"), EROFS, dir_, one)) return 6;
    const spooler::spool_store again({dir_});  // an existing read-only dir still opens
    if (!failed_cleanly(again.enqueue({}, {}), EROFS, dir_, one)) return 7;
    return 0;
  });
}

}  // namespace
}  // namespace brood::spooler

// The task log on the real filesystem (posix_log_env): slots claimed across processes (OFD
// locks, a forked writer), recovery of a killed writer's slot, and a small real-disk check that
// prints tasks/s next to the per-file durable write (figures only, no timed assertion).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "spool_fs.hpp"
#include "task_log.hpp"
#include "task_log_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::spooler {
namespace {

using namespace testing_log;

class task_log_posix_test : public ::testing::Test {
 protected:
  std::unique_ptr<task_log> open() {
    auto l = task_log::open(posix_log_env(), dir_.path());
    EXPECT_TRUE(l) << l.error().message();
    return l ? std::move(*l) : nullptr;
  }
  static std::string name(int i) { return "uwsgi_spoolfile_on_h_2_" + std::to_string(i); }

  testing::temp_dir dir_{"brood_task_log_"};
};

// A forked writer: opens the log, enqueues `tasks`, writes its slot number to `out`, then waits
// for SIGKILL. Returns its pid.
pid_t fork_writer(const std::string& dir, int tasks, int out) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  auto log = task_log::open(posix_log_env(), dir);
  char slot = 'x';
  if (log) {
    for (int i = 0; i < tasks; ++i) {
      const std::string n = "uwsgi_spoolfile_on_child_" + std::to_string(i);
      if (!(*log)->enqueue(n, task_file(n))) ::_exit(2);
    }
    slot = static_cast<char>('0' + (*log)->stats().slot);
  }
  (void)!::write(out, &slot, 1);
  for (;;) ::pause();
}

TEST_F(task_log_posix_test, processes_claim_different_slots_and_a_dead_ones_is_recovered) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const pid_t child = fork_writer(dir_.path(), 5, p[1]);
  ASSERT_GT(child, 0);
  ::close(p[1]);
  char slot = 0;
  ASSERT_EQ(::read(p[0], &slot, 1), 1);
  ::close(p[0]);
  EXPECT_EQ(slot, '0');
  {
    auto mine = open();  // slot 0 is the child's
    ASSERT_TRUE(mine);
    EXPECT_EQ(mine->stats().slot, 1);
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(::unlink((dir_ / "uwsgi_spoolfile_on_child_3").c_str()), 0);  // lost
  auto again = open();  // the dead child's lock is gone with it
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stats().slot, 0);
  EXPECT_EQ(again->stats().recovery.tasks, 5U);
  EXPECT_EQ(again->stats().recovery.materialized, 1U);
  EXPECT_EQ(content_of(posix_log_env(), dir_ / "uwsgi_spoolfile_on_child_3"),
            task_file("uwsgi_spoolfile_on_child_3"));
}

TEST_F(task_log_posix_test, segments_are_preallocated_and_never_grow) {
  auto log = open();
  ASSERT_TRUE(log);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(log->enqueue(name(i), task_file(name(i), 512)));
  for (const char* seg : {"/.brood_log/slot-0-a", "/.brood_log/slot-0-b"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_.path() + seg).c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 4 << 20);
  }
  EXPECT_EQ(content_of(posix_log_env(), dir_ / name(49)), task_file(name(49), 512));
}

double per_second(std::size_t n, std::chrono::steady_clock::duration d) {
  return static_cast<double>(n) / std::chrono::duration<double>(d).count();
}

TEST_F(task_log_posix_test, real_disk_micro_check) {
  constexpr int per_file_tasks = 100, threads = 8, per_thread = 100;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < per_file_tasks; ++i) {
    const wire::bytes f = task_file(name(i), 512);
    ASSERT_TRUE(spool_fs::durable_write({dir_.path(), ".brood_tmp_" + name(i), name(i)}, f));
  }
  const double per_file = per_second(per_file_tasks, std::chrono::steady_clock::now() - t0);
  auto log = open();
  ASSERT_TRUE(log);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < per_file_tasks; ++i) {
    ASSERT_TRUE(log->enqueue(name(1000 + i), task_file(name(1000 + i), 512)));
  }
  const double one = per_second(per_file_tasks, std::chrono::steady_clock::now() - t0);
  const std::uint64_t commits_before = log->stats().commits;
  t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string n = name(10000 + t * 1000 + i);
        EXPECT_TRUE(log->enqueue(n, task_file(n, 512)));
      }
    });
  }
  for (auto& t : ts) t.join();
  const double eight = per_second(threads * per_thread, std::chrono::steady_clock::now() - t0);
  const std::uint64_t commits = log->stats().commits - commits_before;
  // The disk's own figure in the same run: overwrite 700 bytes of a preallocated file + fdatasync.
  const std::string raw = dir_ / "raw";
  ASSERT_TRUE(posix_log_env().create_file(raw, 1 << 20).ok());
  auto f = posix_log_env().open_file(raw);
  ASSERT_TRUE(f);
  const wire::bytes block(700, 'r');
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < per_file_tasks; ++i) {
    ASSERT_TRUE((*f)->pwrite(4096 + 700 * i, block).ok());
    ASSERT_TRUE((*f)->datasync().ok());
  }
  const double raw_sync = per_second(per_file_tasks, std::chrono::steady_clock::now() - t0);
  std::printf(
      "real disk, 512-byte bodies: per-file durable write %.0f tasks/s; task log, 1 thread %.0f "
      "tasks/s; 8 threads %.0f tasks/s (%.1f tasks per commit); the disk alone: %.0f "
      "overwrite+fdatasync/s\n",
      per_file, one, eight,
      static_cast<double>(threads * per_thread) / static_cast<double>(commits), raw_sync);
}

}  // namespace
}  // namespace brood::spooler

// The node's shared task log (log_server.hpp, docs/spool_format.md §9): a client's record is
// committed by the server's log while the client writes the file; the answers name what failed;
// a server that is gone is "unreachable" (nothing sent). The spool store with shared_log: forked
// processes' tasks go through the owner's one log (one slot), batched across processes.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "brood/spooler/spool_store.hpp"
#include "fault_env.hpp"
#include "log_server.hpp"
#include "sanitizers.hpp"
#include "spool_store_fixture.hpp"
#include "task_log.hpp"
#include "task_log_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::spooler {
namespace {

using testing_log::task_file;

class log_server_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = task_log::open(posix_log_env(), dir_.path());
    ASSERT_TRUE(l) << l.error().message();
    log_ = std::move(*l);
    auto s = log_server::start([this](std::size_t d) { return d == 0 ? log_.get() : nullptr; },
                               [this](std::size_t, task_log&) { ++committed_; });
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();  // before the log its threads use
    log_.reset();
  }
  static std::string name(int i) { return "uwsgi_spoolfile_on_h_3_" + std::to_string(i); }

  testing::temp_dir dir_{"brood_log_server_"};
  std::unique_ptr<task_log> log_;
  std::unique_ptr<log_server> server_;
  std::atomic<int> committed_{0};
};

TEST_F(log_server_test, record_is_committed_while_the_client_writes_the_file) {
  bool wrote = false;
  const auto f = task_file(name(1));
  auto out = log_client::commit(server_->name(), 0, name(1), f, [&] {
    wrote = true;
    return os::status{};
  });
  ASSERT_FALSE(out.unreachable);
  ASSERT_TRUE(out.seq) << out.seq.error().message();
  EXPECT_TRUE(wrote);
  EXPECT_GE(log_->durable_seq(), *out.seq);
  EXPECT_EQ(log_->stats().tasks, 1u);
  EXPECT_EQ(committed_, 1);
}

TEST_F(log_server_test, another_users_connection_is_refused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(3);
    const auto f = task_file(name(7));
    auto out = log_client::commit(server_->name(), 0, name(7), f, [] { return os::status{}; });
    _exit(!out.unreachable && out.seq ? 1 : 0);  // 0: refused
  }
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(log_->stats().tasks, 0u);
  EXPECT_EQ(committed_, 0);
}

TEST_F(log_server_test, many_threads_share_the_commits) {
  constexpr int threads = 8, per = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) {
        const std::string n = name(t * 1000 + i);
        auto out =
            log_client::commit(server_->name(), 0, n, task_file(n), [] { return os::status{}; });
        failures += out.unreachable || !out.seq;
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(failures, 0);
  const task_log_stats st = log_->stats();
  EXPECT_EQ(st.tasks, static_cast<std::uint64_t>(threads * per));
  EXPECT_LE(st.commits, st.tasks);
  EXPECT_GE(committed_, 1) << "called once per commit round";
  EXPECT_LE(committed_, threads * per);
}

TEST_F(log_server_test, failures_are_named) {
  const auto f = task_file(name(2));
  auto no_dir = log_client::commit(server_->name(), 7, name(2), f, [] { return os::status{}; });
  ASSERT_FALSE(no_dir.unreachable);
  ASSERT_FALSE(no_dir.seq);
  EXPECT_NE(no_dir.seq.error().message().find("no task log for spooler dir 7"), std::string::npos)
      << no_dir.seq.error().message();

  auto bad_path = log_client::commit(server_->name(), 0, "../x", f, [] { return os::status{}; });
  ASSERT_FALSE(bad_path.seq);
  EXPECT_NE(bad_path.seq.error().message().find("bad spool file path"), std::string::npos)
      << bad_path.seq.error().message();

  auto write_failed = log_client::commit(server_->name(), 0, name(3), f, [] {
    return os::status::from_errno(ENOSPC, "cannot write x");
  });
  ASSERT_FALSE(write_failed.seq);
  EXPECT_EQ(write_failed.seq.error().code().value(), ENOSPC);

  auto gone = log_client::commit("brood-tasklog-no-such-server", 0, name(4), f, [] {
    ADD_FAILURE() << "nothing is written for an unreachable server";
    return os::status{};
  });
  EXPECT_TRUE(gone.unreachable);
}

class shared_log_store_test : public testing_spool::spool_store_fixture {};

TEST_F(shared_log_store_test, forked_processes_commit_through_the_owners_log) {
#if BROOD_TEST_ASAN
  // The store's owner runs threads (its log server, the log's checkpointer) when it forks, as a
  // master does when it forks its workers. glibc's malloc is fork-safe; the AddressSanitizer
  // allocator of clang 14 (make sanitize) is not: the children deadlocked in it (10 of 11 runs,
  // every child thread waiting in SizeClassAllocator64::GetFromAllocator on a lock held at the
  // fork). The Release run (make test) runs this test.
  GTEST_SKIP() << "a fork of a multithreaded process deadlocks under AddressSanitizer";
#endif
  const std::string dir = under("spool");
  spool_store_options o;
  o.shared_log = true;
  const spooler::spool_store store({dir}, o);
  constexpr int procs = 4, threads = 4, per = 25;
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; ++p) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::atomic<int> failures{0};
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          for (int i = 0; i < per; ++i) {
            const auto s = store.enqueue(
                {{"producer", std::to_string(p * threads + t)}, {"i", std::to_string(i)}}, "b");
            failures += !s || !std::filesystem::exists(s.path);
          }
        });
      }
      for (auto& t : pool) t.join();
      ::_exit(failures == 0 ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (const pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_EQ(testing_spool::entries(dir).size(), static_cast<std::size_t>(procs * threads * per));
  const spool_log_stats st = spool_store::log_stats(dir);
  EXPECT_EQ(st.segments, 2u) << "one slot: the children opened no log of their own";
  EXPECT_EQ(st.tasks, static_cast<std::uint64_t>(procs * threads * per));
  EXPECT_LT(st.commits, st.tasks) << "16 concurrent producers: some commits cover several";
  EXPECT_EQ(st.pending, static_cast<std::uint64_t>(procs * threads * per));
}

// Requests of op 2 (the server writes the file once it has answered: the remote enqueue's,
// docs/spool_format.md §9.7) over a fault-injecting filesystem: the answer comes after the
// commit, the file after the answer, and an acknowledged task whose file was never written (the
// node died, or here the write failed) is written by the next recovery.
class log_server_file_later_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.make_dir("/spool").ok());
    start();
  }
  void TearDown() override { stop(); }
  void start() {
    auto l = task_log::open(env_, "/spool", opts_);
    ASSERT_TRUE(l) << l.error().message();
    log_ = std::move(*l);
    auto s = log_server::start([this](std::size_t d) { return d == 0 ? log_.get() : nullptr; }, {});
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
  }
  void stop() {
    server_.reset();
    log_.reset();
  }
  // A power cut (everything unsynced dropped or torn), then the node's restart: its recovery.
  void cut_and_restart() {
    env_.cut_now();
    stop();
    env_.reboot();
    start();
  }
  void expect_files(const std::vector<std::string>& names) {
    for (const std::string& n : names)
      EXPECT_EQ(testing_log::content_of(env_, "/spool/" + n), task_file(n)) << n;
  }
  // Sends op-2 requests for `names` on one connection and reads their answers, in order.
  std::vector<os::result<std::uint64_t>> send(const std::vector<std::string>& names) {
    wire::bytes all;
    for (const std::string& n : names) log_client::encode_request(all, 0, n, task_file(n), true);
    os::unique_fd fd = log_client::connect_to(server_->name());
    EXPECT_TRUE(fd);
    if (!fd ||
        ::send(fd.get(), all.data(), all.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(all.size()))
      return {};
    return testing_log::read_answers(fd.get(), names.size());
  }
  static std::string name(int i) { return "uwsgi_spoolfile_on_h_4_" + std::to_string(i); }

  fault_env env_{7};
  task_log_options opts_;
  std::unique_ptr<task_log> log_;
  std::unique_ptr<log_server> server_;
};

// Segments of 64 KiB (the smallest spooler-log-size): a few hundred tasks switch several times.
class log_server_small_segment_test : public log_server_file_later_test {
 protected:
  log_server_small_segment_test() { opts_.segment_size = 65536; }
};

TEST_F(log_server_file_later_test, the_server_writes_the_file_after_the_answer) {
  std::vector<std::string> names;
  for (int i = 0; i < 30; ++i) names.push_back(name(i));
  const auto answers = send(names);
  ASSERT_EQ(answers.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(answers[i]) << answers[i].error().message();
    EXPECT_GE(log_->durable_seq(), *answers[i]) << "answered after the commit";
  }
  // The files follow the answers (the same round, after its answers were sent).
  for (const std::string& n : names) {
    EXPECT_TRUE(testing_log::wait_for([&] { return env_.exists("/spool/" + n); })) << n;
    EXPECT_EQ(testing_log::content_of(env_, "/spool/" + n), task_file(n));
  }
  // A cut now: every acknowledged task is still there after recovery.
  cut_and_restart();
  expect_files(names);
}

TEST_F(log_server_file_later_test, an_acknowledged_task_without_its_file_is_written_by_recovery) {
  env_.inject(fault_op::write_file, EIO, 1000);  // the server's file writes fail
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back(name(i));
  const auto answers = send(names);
  ASSERT_EQ(answers.size(), names.size());
  for (const auto& a : answers) ASSERT_TRUE(a) << "acknowledged once committed";
  // The failed file write (after the answers) breaks the log: the next task is refused, and
  // named why.
  ASSERT_TRUE(testing_log::wait_for([&] { return !log_->flush().ok(); }));
  const auto next = send({name(99)});
  ASSERT_EQ(next.size(), 1u);
  ASSERT_FALSE(next[0]);
  EXPECT_NE(next[0].error().message().find("cannot write the spool file of the acknowledged task"),
            std::string::npos)
      << next[0].error().message();
  for (const std::string& n : names) EXPECT_FALSE(env_.exists("/spool/" + n)) << n;
  // The node dies (a power cut drops everything unsynced); the restart's recovery writes them.
  cut_and_restart();
  expect_files(names);
  EXPECT_EQ(log_->stats().recovery.materialized, names.size());
  EXPECT_FALSE(env_.exists("/spool/" + name(99))) << "never acknowledged, never committed";
}

TEST_F(log_server_small_segment_test, a_checkpoint_waits_for_the_files_of_its_segment) {
  // Enough tasks for several segment switches; each round's files are written after its answers
  // and before the next round, and no segment is marked clean before its files exist: at any
  // cut, every acknowledged task comes back.
  std::vector<std::string> names;
  for (int i = 0; i < 1200; ++i) names.push_back(name(i));
  for (std::size_t at = 0; at < names.size(); at += 40) {
    const std::vector<std::string> part(names.begin() + static_cast<std::ptrdiff_t>(at),
                                        names.begin() + static_cast<std::ptrdiff_t>(at + 40));
    const auto answers = send(part);
    ASSERT_EQ(answers.size(), part.size());
    for (const auto& a : answers) ASSERT_TRUE(a) << a.error().message();
  }
  EXPECT_TRUE(testing_log::wait_for([&] { return log_->stats().checkpoints >= 1; }));
  EXPECT_GE(log_->stats().switches, 2u);
  cut_and_restart();
  expect_files(names);
}

}  // namespace
}  // namespace brood::spooler

// run_spooler in forked children over real temp dirs written with spool_store: immediate start,
// outcomes (ok, retry with backoff, exception, failed/, ignore), priorities, `at`, quarantine,
// crash recovery, two processes on one dir, max_tasks, stop signals.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctime>
#include <map>
#include <set>

#include "spool_share.hpp"
#include "spooler_fixture.hpp"

namespace brood::spooler::test {
namespace {

using std::chrono::system_clock;

// User + system CPU time of process `pid`, in clock ticks (/proc/PID/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream in(s.substr(s.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i)
    if (i == 14 || i == 15) ticks += std::atol(field.c_str());
  return ticks;
}

class spooler_test : public spooler_fixture {
 protected:
  system_clock::time_point mtime(const std::string& path) {
    struct stat st = {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  }
  // Waits for the file at `path` to hold brood_attempt == `attempt`; returns its vars.
  std::optional<wire::spool_vars> wait_attempt(const std::string& path, unsigned attempt) {
    std::optional<wire::spool_vars> vars;
    eventually([&] {
      vars = read_task_vars(path);
      return vars && var_of(*vars, wire::spool_key_attempt) == std::to_string(attempt);
    });
    return vars;
  }
};

TEST_F(spooler_test, NewTaskStartsAtOnceAndOkDeletesIt) {
  start_spooler();
  const std::string first = enqueue("first");
  ASSERT_TRUE(records_.next()) << spoolers_[0]->all_output();
  EXPECT_TRUE(eventually([&] { return !fs::exists(first); }));
  // The spooler is idle now (its next full scan is 30 s away): a new task starts within ms.
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string path = enqueue("t" + std::to_string(i));
    auto r = records_.next(2000ms);
    ASSERT_TRUE(r) << spoolers_[0]->all_output();
    EXPECT_EQ(r->id, "t" + std::to_string(i));
    EXPECT_EQ(r->attempt, 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
    EXPECT_TRUE(eventually([&] { return !fs::exists(path); }));
  }
  EXPECT_TRUE(spoolers_[0]->wait_for("managing request uwsgi_spoolfile_on_"));
  EXPECT_TRUE(spoolers_[0]->wait_for("done with task uwsgi_spoolfile_on_"));
  EXPECT_TRUE(spoolers_[0]->wait_for("[spooler " + dir_ + " pid: "));
  EXPECT_TRUE(eventually([&] { return board_->tasks_done(0) == 6u; })) << board_->tasks_done(0);
}

TEST_F(spooler_test, RetryRewritesTheFileWithBackoffThenRunsAgain) {
  cfg_.retry_delay = 600ms;
  start_spooler();
  const std::string path = enqueue("r", {{"do", "retry_once"}});
  auto first = records_.next();
  ASSERT_TRUE(first) << spoolers_[0]->all_output();
  const auto failed_at = system_clock::now();
  auto vars = wait_attempt(path, 2);
  ASSERT_TRUE(vars) << spoolers_[0]->all_output();
  EXPECT_NE(var_of(*vars, wire::spool_key_last_error).find("SPOOL_RETRY"), std::string::npos);
  EXPECT_GT(mtime(path), failed_at + 400ms);  // due after the backoff
  auto second = records_.next();
  ASSERT_TRUE(second) << spoolers_[0]->all_output();
  EXPECT_EQ(second->attempt, 2u);
  EXPECT_GE(system_clock::now() - failed_at, 500ms);
  EXPECT_TRUE(eventually([&] { return !fs::exists(path); }));
  EXPECT_TRUE(spoolers_[0]->wait_for("failed (attempt 1)"));
  EXPECT_TRUE(spoolers_[0]->wait_for("next attempt in 600 ms"));
}

TEST_F(spooler_test, ExceptionIsARetryWithItsMessageAsLastError) {
  cfg_.retry_delay = 500ms;
  start_spooler();
  const std::string path = enqueue("x", {{"do", "throw_once"}});
  ASSERT_TRUE(records_.next());
  auto vars = wait_attempt(path, 2);
  ASSERT_TRUE(vars) << spoolers_[0]->all_output();
  EXPECT_EQ(var_of(*vars, wire::spool_key_last_error), "exception: boom");
  auto again = records_.next();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_TRUE(eventually([&] { return !fs::exists(path); }));
}

TEST_F(spooler_test, TaskMovesToFailedAfterMaxAttempts) {
  cfg_.retry_delay = 20ms;
  start_spooler();
  const std::string path = enqueue("f", {{"do", "retry"}});
  for (unsigned attempt = 1; attempt <= 3; ++attempt) {
    auto r = records_.next();
    ASSERT_TRUE(r) << spoolers_[0]->all_output();
    EXPECT_EQ(r->attempt, attempt);
  }
  const std::string failed = dir_ + "/failed/" + fs::path(path).filename().string();
  ASSERT_TRUE(eventually([&] { return fs::exists(failed); })) << spoolers_[0]->all_output();
  EXPECT_FALSE(fs::exists(path));
  auto vars = read_task_vars(failed);
  ASSERT_TRUE(vars);
  EXPECT_NE(var_of(*vars, wire::spool_key_last_error).find("SPOOL_RETRY"), std::string::npos);
  EXPECT_TRUE(spoolers_[0]->wait_for("failed 3 attempts, moved to " + dir_ + "/failed/"));
  EXPECT_FALSE(records_.next(300ms));  // never runs again
}

TEST_F(spooler_test, IgnoreKeepsTheFileUntilTheNextScan) {
  start_spooler();
  const std::string path = enqueue("i", {{"do", "ignore"}});
  ASSERT_TRUE(records_.next());
  EXPECT_TRUE(spoolers_[0]->wait_for("ignored by the handler"));
  EXPECT_FALSE(records_.next(300ms));
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(read_task_vars(path)->size(), 2u);  // untouched: no attempt recorded
}

TEST_F(spooler_test, PriorityDirsRunFirstLowestFirst) {
  enqueue("root1");
  enqueue("p5", {{"priority", "5"}});
  enqueue("root2");
  enqueue("p1", {{"priority", "1"}});
  enqueue("p5b", {{"priority", "5"}});
  start_spooler();
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) {
    auto r = records_.next();
    ASSERT_TRUE(r) << spoolers_[0]->all_output();
    order.push_back(r->id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"p1", "p5", "p5b", "root1", "root2"}));
  // A new priority dir made while the spooler runs is watched too.
  enqueue("p7", {{"priority", "7"}});
  auto r = records_.next(2000ms);
  ASSERT_TRUE(r) << spoolers_[0]->all_output();
  EXPECT_EQ(r->id, "p7");
}

TEST_F(spooler_test, OrderedRunsByFileName) {
  cfg_.ordered = true;
  // Written in place by hand (uWSGI's names): version order, not mtime order.
  for (const char* name : {"uwsgi_spoolfile_on_h_10", "uwsgi_spoolfile_on_h_9"}) {
    wire::bytes file;
    const std::vector<wire::var> vars{{"id", name}};
    ASSERT_FALSE(wire::append_spool_file(file, vars, {}));
    std::ofstream(dir_ + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(file.data()),
               static_cast<std::streamsize>(file.size()));
  }
  start_spooler();
  auto a = records_.next();
  auto b = records_.next();
  ASSERT_TRUE(a && b) << spoolers_[0]->all_output();
  EXPECT_EQ(a->id, "uwsgi_spoolfile_on_h_9");
  EXPECT_EQ(b->id, "uwsgi_spoolfile_on_h_10");
}

TEST_F(spooler_test, TaskWithAtInTheFutureWaitsForIt) {
  start_spooler();
  const std::time_t at = std::time(nullptr) + 2;
  enqueue("later", {{"at", std::to_string(at) + ".7"}});
  enqueue("now");
  auto first = records_.next();
  ASSERT_TRUE(first) << spoolers_[0]->all_output();
  EXPECT_EQ(first->id, "now") << spoolers_[0]->all_output();
  auto later = records_.next(4000ms);
  ASSERT_TRUE(later) << spoolers_[0]->all_output();
  EXPECT_EQ(later->id, "later");
  // (system_clock, not time(): glibc's time() reads a coarse clock that may lag behind.)
  const auto ran = system_clock::now();
  EXPECT_GE(ran, system_clock::from_time_t(at));
  EXPECT_LE(ran, system_clock::from_time_t(at) + 1s);
}

TEST_F(spooler_test, CorruptFilesAreQuarantinedAndTheSpoolerGoesOn) {
  start_spooler();
  const std::string staging = root_ / "staging";
  fs::create_directories(staging);
  // Not a task at all (modifier1 is not 17).
  std::ofstream(staging + "/uwsgi_spoolfile_on_garbage") << "this is no spool file";
  // A bad checksum: a valid brood task with one body byte changed.
  wire::bytes file;
  const std::vector<wire::var> vars{{"id", "flipped"}};
  const std::string body = "payload";
  ASSERT_FALSE(wire::append_spool_file(file, vars, wire::as_bytes(body)));
  file.back() ^= 0x01;
  std::ofstream(staging + "/uwsgi_spoolfile_on_flipped", std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  // Torn but young: left alone (it may still be being written).
  std::ofstream(staging + "/uwsgi_spoolfile_on_torn", std::ios::binary).write("\x11\x40\x00", 3);
  for (const char* name :
       {"uwsgi_spoolfile_on_garbage", "uwsgi_spoolfile_on_flipped", "uwsgi_spoolfile_on_torn"})
    fs::rename(staging + "/" + name, dir_ + "/" + name);
  const std::string q = dir_ + "/quarantine/";
  EXPECT_TRUE(eventually([&] {
    return fs::exists(q + "uwsgi_spoolfile_on_garbage") &&
           fs::exists(q + "uwsgi_spoolfile_on_flipped");
  })) << spoolers_[0]->all_output();
  EXPECT_TRUE(spoolers_[0]->wait_for("corrupt task file uwsgi_spoolfile_on_garbage"));
  EXPECT_TRUE(spoolers_[0]->wait_for("corrupt task file uwsgi_spoolfile_on_flipped"));
  EXPECT_TRUE(spoolers_[0]->all_output().find("checksum") != std::string::npos)
      << spoolers_[0]->all_output();
  enqueue("after");
  auto r = records_.next();
  ASSERT_TRUE(r) << spoolers_[0]->all_output();
  EXPECT_EQ(r->id, "after");
  EXPECT_TRUE(fs::exists(dir_ + "/uwsgi_spoolfile_on_torn"));
  EXPECT_FALSE(fs::exists(q + "uwsgi_spoolfile_on_torn"));
}

TEST_F(spooler_test, TaskOfACrashedSpoolerCountsAnAttemptAndRunsAgain) {
  cfg_.retry_delay = 50ms;
  auto& first = start_spooler();
  const std::string path = enqueue("c", {{"do", "exit_once"}});
  auto status = first.wait_exit(5000ms);
  ASSERT_TRUE(status) << first.all_output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 3);
  EXPECT_EQ(board_->running(0), path);
  EXPECT_TRUE(fs::exists(path));
  auto& second = start_spooler();
  auto r = records_.next();
  ASSERT_TRUE(r) << second.all_output();
  EXPECT_EQ(r->id, "c");
  EXPECT_EQ(r->attempt, 2u);
  EXPECT_TRUE(second.wait_for("was running when the previous spooler process died"));
  EXPECT_TRUE(eventually([&] { return !fs::exists(path); }));
  EXPECT_TRUE(eventually([&] { return board_->running(0).empty(); })) << board_->running(0);
}

TEST_F(spooler_test, TwoProcessesOnOneDirRunEachTaskExactlyOnce) {
  make_board(2);
  start_spooler(0);
  start_spooler(1);
  constexpr int tasks = 300;
  for (int i = 0; i < tasks; ++i) enqueue(std::to_string(i), {{"do", "sleep"}, {"ms", "1"}});
  std::map<std::string, int> runs;
  std::set<int> pids;
  for (int i = 0; i < tasks; ++i) {
    auto r = records_.next();
    ASSERT_TRUE(r) << i << " runs\n" << spoolers_[0]->all_output() << spoolers_[1]->all_output();
    ++runs[r->id];
    pids.insert(r->pid);
  }
  EXPECT_FALSE(records_.next(300ms));  // nothing ran twice
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(tasks));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(pids.size(), 2u);  // both took part
  EXPECT_TRUE(eventually([&] { return task_files(dir_).empty(); }));
}

TEST_F(spooler_test, ExitsAfterMaxTasks) {
  cfg_.max_tasks = 3;
  for (int i = 0; i < 5; ++i) enqueue(std::to_string(i));
  auto& p = start_spooler();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(records_.next()) << p.all_output();
  auto status = p.wait_exit(5000ms);
  ASSERT_TRUE(status) << p.all_output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_TRUE(p.wait_for("maximum number of tasks reached (3)"));
  EXPECT_EQ(task_files(dir_).size(), 2u);
}

TEST_F(spooler_test, StopSignalLetsTheRunningTaskFinish) {
  cfg_.harakiri = 30s;
  auto& p = start_spooler();
  const std::string path = enqueue("slow", {{"do", "sleep"}, {"ms", "400"}});
  ASSERT_TRUE(records_.next());
  EXPECT_EQ(board_->running(0), path);
  EXPECT_GT(board_->harakiri_deadline(0), 0);
  ASSERT_EQ(::kill(p.pid(), SIGTERM), 0);
  auto status = p.wait_exit(5000ms);
  ASSERT_TRUE(status) << p.all_output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_FALSE(fs::exists(path));  // it finished and was deleted
  EXPECT_EQ(board_->running(0), "");
  EXPECT_EQ(board_->harakiri_deadline(0), 0);
}

TEST_F(spooler_test, IdleSpoolerUsesNoCpu) {
  auto& p = start_spooler();
  enqueue("warm");
  ASSERT_TRUE(records_.next());
  ASSERT_TRUE(eventually([&] { return task_files(dir_).empty() && board_->running(0).empty(); }))
      << p.all_output();  // done with the task: idle from here
  const long before = cpu_ticks(p.pid());
  std::this_thread::sleep_for(500ms);  // the idle period measured
  EXPECT_LE(cpu_ticks(p.pid()) - before, 1);
}

// Each claim attempt opens the task file for writing, so its close is an inotify event to every
// spooler process of the dir: the one that found the file busy must not claim it again at each
// (it did: the two processes ping-ponged for as long as the task ran; 46 ticks here).
TEST_F(spooler_test, TheProcessThatFoundATaskBusyDoesNotSpinWhileItRuns) {
  make_board(2);
  auto& a = start_spooler(0);
  auto& b = start_spooler(1);
  enqueue("slow", {{"do", "sleep"}, {"ms", "1500"}});
  ASSERT_TRUE(records_.next()) << a.all_output() << b.all_output();
  const long before = cpu_ticks(a.pid()) + cpu_ticks(b.pid());
  std::this_thread::sleep_for(1000ms);  // the period measured, while the task sleeps
  // A spinning process would use most of that second; a retry every 100 ms, far less.
  EXPECT_LE(cpu_ticks(a.pid()) + cpu_ticks(b.pid()) - before, 10);
  EXPECT_FALSE(records_.next(1000ms));  // it ran once
}

// Each process takes its own share of the files (spool_share) while it is free: with a long
// steal_after, every task runs in the process whose share its file is.
TEST_F(spooler_test, TwoProcessesEachRunTheirOwnShare) {
  cfg_.steal_after = 5000ms;
  make_board(2);
  const pid_t pids[] = {start_spooler(0).pid(), start_spooler(1).pid()};
  int ran_by[2] = {0, 0};
  for (int i = 0; i < 40; ++i) {
    const std::string path = enqueue(std::to_string(i));
    const std::size_t owner = spool_share(0, 2, cfg_.steal_after).mine(path) ? 0 : 1;
    auto r = records_.next();
    ASSERT_TRUE(r) << i << "\n" << spoolers_[0]->all_output() << spoolers_[1]->all_output();
    EXPECT_EQ(r->id, std::to_string(i));
    EXPECT_EQ(r->pid, pids[owner]) << path;
    ++ran_by[owner];
  }
  EXPECT_GT(ran_by[0], 0);
  EXPECT_GT(ran_by[1], 0);
}

// A file whose process is busy (a long task) is taken by the other once it waited steal_after.
TEST_F(spooler_test, AnotherProcessTakesTheShareOfABusyOne) {
  cfg_.steal_after = 50ms;
  make_board(2);
  const pid_t pids[] = {start_spooler(0).pid(), start_spooler(1).pid()};
  enqueue("slow", {{"do", "sleep"}, {"ms", "3000"}});
  auto slow = records_.next();
  ASSERT_TRUE(slow) << spoolers_[0]->all_output() << spoolers_[1]->all_output();
  const std::size_t busy = slow->pid == pids[0] ? 0 : 1;
  const auto started = std::chrono::steady_clock::now();
  // Tasks until one is the busy process's share (the others' share runs at once anyway).
  int stolen = 0;
  for (int i = 0; i < 40 && stolen == 0; ++i) {
    const std::string path = enqueue(std::to_string(i));
    if (spool_share(busy, 2, cfg_.steal_after).mine(path)) ++stolen;
    auto r = records_.next(2000ms);
    ASSERT_TRUE(r) << i << "\n" << spoolers_[0]->all_output() << spoolers_[1]->all_output();
    EXPECT_EQ(r->id, std::to_string(i));
    EXPECT_EQ(r->pid, pids[1 - busy]) << path;
  }
  EXPECT_EQ(stolen, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3000ms);  // while "slow" still ran
}

// A short file younger than 10 s may still be being written: the spooler looks again when its
// writer closes it, not in a loop answering its own claim's close event.
TEST_F(spooler_test, AYoungTornFileIsNotClaimedInALoopAndRunsOnceComplete) {
  auto& a = start_spooler();
  enqueue("first");
  ASSERT_TRUE(records_.next()) << a.all_output();  // the spooler is up and watching
  const std::string staging = root_ / "staging";
  fs::create_directories(staging);
  const std::string name = "uwsgi_spoolfile_on_young_torn";
  std::ofstream(staging + "/" + name, std::ios::binary).write("\x11\x40\x00", 3);
  fs::rename(staging + "/" + name, dir_ + "/" + name);
  std::this_thread::sleep_for(200ms);  // its first claim (no event to wait for)
  const long before = cpu_ticks(a.pid());
  std::this_thread::sleep_for(1000ms);
  EXPECT_LE(cpu_ticks(a.pid()) - before, 10);  // a loop would use most of the second
  // The writer finishes it in place (as a uWSGI writer does): it runs.
  wire::bytes file;
  const std::vector<wire::var> vars{{"id", "completed"}};
  ASSERT_FALSE(wire::append_spool_file(file, vars, {}));
  std::ofstream(dir_ + "/" + name, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  auto r = records_.next(3000ms);
  ASSERT_TRUE(r) << a.all_output();
  EXPECT_EQ(r->id, "completed");
}

}  // namespace
}  // namespace brood::spooler::test

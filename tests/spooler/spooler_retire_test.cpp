// Done tasks set aside in batches (spooler_task.hpp, retire_done): off the path of the tasks
// waiting, yet never run twice, also when the process dies before it set them aside.
#include <signal.h>
#include <sys/wait.h>

#include <regex>

#include "spooler_fixture.hpp"

namespace brood::spooler::test {
namespace {

class spooler_retire_test : public spooler_fixture {
 public:
  std::string enqueue_for_test(const std::string& id, wire::spool_vars extra = {}) {
    return enqueue(id, std::move(extra));
  }

  // "a" succeeds and "b" kills the process right after, before it went idle (both were found in
  // one batch of events): "a" is done but its file still in the dir. The next process does not
  // run it again: its task log's recovery removes the file (its done record was written when it
  // ended), or, without a task log, it sets it aside from the board. `expected`: the next
  // process's line that says which.
  void done_task_not_run_again_after_a_crash(const std::string& expected) {
    cfg_.retry_delay = 50ms;
    auto& first = start_spooler();
    enqueue("warm");
    ASSERT_TRUE(records_.next()) << first.all_output();
    ASSERT_EQ(::kill(first.pid(), SIGSTOP), 0);
    const std::string a = enqueue("a");
    const std::string b = enqueue("b", {{"do", "exit_once"}});
    ASSERT_EQ(::kill(first.pid(), SIGCONT), 0);
    auto status = first.wait_exit(5000ms);
    ASSERT_TRUE(status) << first.all_output();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 3);
    auto ra = records_.next();
    ASSERT_TRUE(ra) << first.all_output();
    EXPECT_EQ(ra->id, "a");
    ASSERT_TRUE(fs::exists(a)) << "set aside before the crash: the test shows nothing";
    auto& second = start_spooler();
    auto rb = records_.next();
    ASSERT_TRUE(rb) << second.all_output();
    EXPECT_EQ(rb->id, "b");
    EXPECT_EQ(rb->attempt, 2u);
    EXPECT_TRUE(second.wait_for_line(std::regex(expected)).has_value()) << second.all_output();
    EXPECT_TRUE(eventually([&] { return !fs::exists(a) && !fs::exists(b); }));
    enqueue("after");
    auto r = records_.next();
    ASSERT_TRUE(r) << second.all_output();
    EXPECT_EQ(r->id, "after") << "a ran twice";
  }
};

TEST_F(spooler_retire_test, ADoneTaskIsNotRunAgainWhenTheProcessDiesBeforeSettingItAside) {
  done_task_not_run_again_after_a_crash("[1-9][0-9]* done file\\(s\\) removed");
}

TEST_F(spooler_retire_test, WithoutATaskLogADoneTaskIsSetAsideFromTheBoardAfterACrash) {
  spool_store_options no_log;
  no_log.logged_dirs = 0;
  store_ = std::make_unique<spool_store>(std::vector<std::string>{dir_}, no_log);
  done_task_not_run_again_after_a_crash("was done when the previous spooler process died");
}

// Done files leave the dir once the process has nothing due, and the board forgets them.
TEST_F(spooler_retire_test, DoneFilesLeaveTheDirOnceTheProcessIsIdle) {
  auto& p = start_spooler();
  std::vector<std::string> paths;
  for (int i = 0; i < 100; ++i) paths.push_back(enqueue(std::to_string(i)));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(records_.next()) << p.all_output();
  EXPECT_TRUE(eventually([&] {
    for (const auto& path : paths)
      if (fs::exists(path)) return false;
    return true;
  }));
  EXPECT_TRUE(eventually([&] { return board_->done(0).empty(); }));
}

// "a" then "b" (which sleeps) found in one batch: while "b" runs, "a"'s file is still in the dir
// (set aside once nothing is due). Returns whether it was, or nullopt when a run was missing.
std::optional<bool> done_file_kept_while_next_runs(spooler_retire_test& f, node_process& p,
                                                   run_records& records) {
  f.enqueue_for_test("warm");
  if (!records.next()) return std::nullopt;
  ::kill(p.pid(), SIGSTOP);
  const std::string a = f.enqueue_for_test("a");
  f.enqueue_for_test("b", {{"do", "sleep"}, {"ms", "1000"}});
  ::kill(p.pid(), SIGCONT);
  auto ra = records.next();
  auto rb = records.next();
  if (!ra || !rb || ra->id != "a" || rb->id != "b") return std::nullopt;
  return fs::exists(a);  // "b" sleeps now: nothing set aside meanwhile
}

TEST_F(spooler_retire_test, ADoneFileWaitsWhileTheNextTaskRuns) {
  auto& p = start_spooler();
  EXPECT_EQ(done_file_kept_while_next_runs(*this, p, records_), std::optional<bool>(true))
      << p.all_output();
}

// A process that shares its dir sets each done file aside at once: held, it would be found busy
// by the others when they take its share.
TEST_F(spooler_retire_test, AProcessThatSharesItsDirSetsDoneFilesAsideAtOnce) {
  make_board(2);  // only slot 0 runs: it takes slot 1's share too (steal_after 0)
  cfg_.steal_after = 0ms;
  auto& p = start_spooler(0);
  EXPECT_EQ(done_file_kept_while_next_runs(*this, p, records_), std::optional<bool>(false))
      << p.all_output();
}

}  // namespace
}  // namespace brood::spooler::test

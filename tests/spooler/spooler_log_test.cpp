// The task log wired into the spooler (docs/spool_format.md §9): a spooler process recovers, at
// its start and before its first scan, the acknowledged tasks whose files were lost, and the
// tasks it deleted or moved aside (failed/, quarantine/) never come back.
#include <signal.h>

#include <regex>
#include <set>

#include "spooler_fixture.hpp"

namespace brood::spooler::test {
namespace {

class spooler_log_test : public spooler_fixture {
 protected:
  void SetUp() override {
    spooler_fixture::SetUp();
    store_ = std::make_unique<spooler::spool_store>(std::vector<std::string>{dir_}, killed());
  }
  // The count in the spooler's "N file(s) written again" line (-1 when it does not come).
  int rewritten(node_process& p) {
    auto m = p.wait_for_line(
        std::regex(R"(task log slot \d+ of .*: recovered .* (\d+) file\(s\) written again)"));
    return m ? std::stoi((*m)[1]) : -1;
  }
  // Drops the store (its log slot is released, its segments left active as after a crash) and
  // makes a fresh one.
  void crash_store() {
    store_.reset();
    store_ = std::make_unique<spooler::spool_store>(std::vector<std::string>{dir_}, killed());
  }
  // The store whose logs are left as a killed process leaves them.
  static spooler::spool_store_options killed() {
    spooler::spool_store_options o;
    o.checkpoint_logs_at_close = false;
    return o;
  }
};

TEST_F(spooler_log_test, LostFilesOfAcknowledgedTasksRunAfterRecovery) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "t" + std::to_string(i);
    const std::string path =
        enqueue(id, i % 4 == 0 ? wire::spool_vars{{"priority", "3"}} : wire::spool_vars{});
    ASSERT_TRUE(fs::exists(path)) << path;
    ids.insert(id);
  }
  crash_store();
  // The files were never synced: a power cut may take them all.
  for (const std::string& d : {dir_, dir_ + "/3"})
    for (const std::string& f : task_files(d)) fs::remove(f);
  ASSERT_TRUE(task_files(dir_).empty());
  node_process& p = start_spooler();
  EXPECT_EQ(rewritten(p), 20) << p.all_output();
  std::set<std::string> ran;
  while (ran.size() < ids.size()) {
    auto r = records_.next();
    ASSERT_TRUE(r) << p.all_output();
    ran.insert(r->id);
  }
  EXPECT_EQ(ran, ids);
  EXPECT_TRUE(
      eventually([&] { return task_files(dir_).empty() && task_files(dir_ + "/3").empty(); }));
}

TEST_F(spooler_log_test, DeletedAndFailedTasksDoNotComeBack) {
  cfg_.max_attempts = 1;
  node_process& first = start_spooler();
  for (int i = 0; i < 5; ++i) enqueue("ok" + std::to_string(i));
  enqueue("bad", {{"do", "retry"}});
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(records_.next()) << first.all_output();
  ASSERT_TRUE(eventually([&] {
    return task_files(dir_).empty() && task_files(dir_ + "/failed").size() == 1;
  })) << first.all_output();
  // Each outcome is counted once it is applied, done record included (a kill between a
  // removal and its done record may bring a task back: at least once).
  ASSERT_TRUE(eventually([&] { return board_->tasks_done(0) == 6u; })) << first.all_output();
  ::kill(first.pid(), SIGKILL);
  first.kill_all();
  crash_store();
  node_process& second = start_spooler();
  EXPECT_EQ(rewritten(second), 0) << second.all_output();
  // A task enqueued now runs next: nothing recovered was queued before it.
  enqueue("after");
  auto r = records_.next();
  ASSERT_TRUE(r) << second.all_output();
  EXPECT_EQ(r->id, "after") << "a done task ran again\n" << second.all_output();
  EXPECT_TRUE(eventually([&] { return task_files(dir_).empty(); }));  // "after" deleted
  EXPECT_EQ(task_files(dir_ + "/failed").size(), 1u);
}

TEST_F(spooler_log_test, TaskBiggerThanASegmentIsWrittenFileByFile) {
  spooler::spool_store_options opts;
  opts.log_segment_size = 65536;
  const spooler::spool_store store(std::vector<std::string>{dir_}, opts);
  const std::string body(100000, 'b');
  const spooler::spool_status s = store.enqueue({{"id", "big"}}, body);
  ASSERT_TRUE(s) << s.message;
  EXPECT_GT(fs::file_size(s.path), body.size());
  const auto vars = read_task_vars(s.path);
  ASSERT_TRUE(vars);
  EXPECT_EQ(var_of(*vars, "id"), "big");
  // A small one goes through the log (its segments are 64 KiB).
  ASSERT_TRUE(store.enqueue({{"id", "small"}}, "x"));
  EXPECT_EQ(fs::file_size(dir_ + "/.brood_log/slot-0-a"), 65536u);
  EXPECT_EQ(spooler::spool_store::log_stats(dir_).pending, 2u);
}

}  // namespace
}  // namespace brood::spooler::test

// The task log over the fault env: append and recovery, group commit, segment switch and
// reuse, back-pressure, failures, slots.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "fault_env.hpp"
#include "log_segment.hpp"
#include "task_log.hpp"
#include "task_log_fixture.hpp"

namespace brood::spooler {
namespace {

using namespace testing_log;

class task_log_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env.make_dir("/spool").ok());
    ASSERT_TRUE(env.make_dir("/spool/3").ok());
  }
  std::unique_ptr<task_log> open(task_log_options o = {}) {
    auto l = task_log::open(env, "/spool", o);
    EXPECT_TRUE(l) << l.error().message();
    return l ? std::move(*l) : nullptr;
  }
  static std::string name(int i) { return "uwsgi_spoolfile_on_h_1_" + std::to_string(i); }

  fault_env env{11};
};

TEST_F(task_log_test, an_acknowledged_task_survives_a_cut) {
  for (int round = 0; round < 20; ++round) {
    auto log = open();
    ASSERT_TRUE(log);
    const std::string rel = (round % 2 ? "3/" : "") + name(round);
    const wire::bytes file = task_file(rel, 100 + round);
    ASSERT_TRUE(log->enqueue(rel, file));
    EXPECT_EQ(content_of(env, "/spool/" + rel), file);
    env.cut_now();
    log.reset();
    env.reboot();
    log = open();
    ASSERT_TRUE(log);
    EXPECT_EQ(content_of(env, "/spool/" + rel), file) << "round " << round;
    ASSERT_TRUE(env.remove_file("/spool/" + rel).ok());
    ASSERT_TRUE(log->done(rel));
    ASSERT_TRUE(log->flush().ok());
  }
}

TEST_F(task_log_test, recovery_materializes_lost_files_and_removes_done_ones) {
  auto log = open();
  ASSERT_TRUE(log);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->enqueue(name(i), task_file(name(i))));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->done(name(i)));  // files left: a lost unlink
  ASSERT_TRUE(log->flush().ok());
  ASSERT_TRUE(env.remove_file("/spool/" + name(7)).ok());  // as if its name were lost
  env.cut_now();
  log.reset();
  env.reboot();
  log = open();
  ASSERT_TRUE(log);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(env.exists("/spool/" + name(i))) << i;
  for (int i = 5; i < 10; ++i) EXPECT_EQ(content_of(env, "/spool/" + name(i)), task_file(name(i)));
  const auto rep = log->stats().recovery;
  EXPECT_EQ(rep.tasks, 10U);
  EXPECT_GE(rep.materialized, 1U);
  EXPECT_EQ(rep.segments_recovered, 1U);
}

TEST_F(task_log_test, group_commit_one_sync_per_batch) {
  env.set_sync_delay(std::chrono::microseconds(300));
  auto log = open();
  ASSERT_TRUE(log);
  const std::uint64_t syncs_before = env.datasyncs();
  constexpr int threads = 8, per_thread = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string n = name(t * 1000 + i);
        if (!log->enqueue(n, task_file(n))) ++failures;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures, 0);
  const task_log_stats st = log->stats();
  EXPECT_EQ(st.tasks, std::uint64_t{threads * per_thread});
  EXPECT_EQ(env.datasyncs() - syncs_before, st.commits);  // no segment switch: one per batch
  EXPECT_LT(st.commits, std::uint64_t{threads * per_thread} / 2);
  EXPECT_GT(st.max_batch, 1U);
  std::printf("group commit: %llu tasks in %llu commits, largest batch %llu\n",
              static_cast<unsigned long long>(st.tasks),
              static_cast<unsigned long long>(st.commits),
              static_cast<unsigned long long>(st.max_batch));
}

TEST_F(task_log_test, segments_switch_checkpoint_and_are_reused) {
  task_log_options o;
  o.segment_size = 4096;
  auto log = open(o);
  ASSERT_TRUE(log);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(log->enqueue(name(i), task_file(name(i), 200)));
    ASSERT_TRUE(env.remove_file("/spool/" + name(i)).ok());
    ASSERT_TRUE(log->done(name(i)));
  }
  ASSERT_TRUE(log->flush().ok());
  const task_log_stats st = log->stats();
  EXPECT_GT(st.switches, 20U);
  EXPECT_TRUE(wait_for([&] { return log->stats().checkpoints >= st.switches; }));
  EXPECT_GE(env.fs_syncs(), st.switches);
  // The files never change size: appends are overwrites of preallocated zeros.
  for (int which = 0; which < 2; ++which) {
    EXPECT_EQ(content_of(env, tasklog::segment_path("/spool", 0, which))->size(), 4096U);
  }
}

TEST_F(task_log_test, a_full_log_waits_for_the_checkpoint_never_overwrites) {
  task_log_options o;
  o.segment_size = 4096;
  auto log = open(o);
  ASSERT_TRUE(log);
  env.hold_sync_fs(true);
  int i = 0;
  while (log->stats().switches == 0) {
    ASSERT_TRUE(log->enqueue(name(i), task_file(name(i), 300)));
    ++i;
  }
  ASSERT_TRUE(wait_for([&] { return env.sync_fs_waiting() == 1; }));
  // The second segment fills too; the next switch must wait for the held checkpoint.
  std::atomic<bool> returned{false};
  std::thread writer([&] {
    for (int k = 0; k < 40; ++k) {
      const std::string n = name(1000 + k);
      if (!log->enqueue(n, task_file(n, 300))) break;
    }
    returned = true;
  });
  ASSERT_TRUE(wait_for([&] { return log->stats().stalls == 1; }));
  EXPECT_FALSE(returned);
  // The full segment is intact: every task of it still scans.
  tasklog::segment_image seg;
  ASSERT_TRUE(tasklog::read_segment(env, tasklog::segment_path("/spool", 0, 0), seg).ok());
  EXPECT_EQ(seg.header.state, tasklog::segment_state::active);
  int records = 0;
  scan_records(seg, [&](const tasklog::log_record&) { ++records; });
  EXPECT_EQ(records, i - 1);
  env.hold_sync_fs(false);
  writer.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(log->stats().tasks, std::uint64_t(i + 40));
}

TEST_F(task_log_test, a_failed_sync_fails_the_task_and_breaks_the_log) {
  auto log = open();
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->enqueue(name(1), task_file(name(1))));
  env.inject(fault_op::datasync, EIO);
  auto r = log->enqueue(name(2), task_file(name(2)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::error_code(EIO, std::system_category()));
  EXPECT_FALSE(env.exists("/spool/" + name(2)));  // not acknowledged: removed
  EXPECT_FALSE(log->enqueue(name(3), task_file(name(3))));
  EXPECT_FALSE(log->done(name(1)));
}

TEST_F(task_log_test, a_failed_file_write_fails_only_that_task) {
  auto log = open();
  ASSERT_TRUE(log);
  env.inject(fault_op::write_file, ENOSPC);
  auto r = log->enqueue(name(1), task_file(name(1)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::error_code(ENOSPC, std::system_category()));
  EXPECT_TRUE(log->enqueue(name(2), task_file(name(2))));
}

TEST_F(task_log_test, bad_paths_and_oversized_tasks_are_refused) {
  task_log_options o;
  o.segment_size = 4096;
  auto log = open(o);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->enqueue("../x", task_file("x")).error().code(),
            std::error_code(EINVAL, std::system_category()));
  EXPECT_EQ(log->enqueue(name(1), task_file(name(1), 5000)).error().code(),
            std::error_code(EFBIG, std::system_category()));
  EXPECT_FALSE(env.exists("/spool/" + name(1)));
}

TEST_F(task_log_test, each_writer_claims_its_own_slot) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->stats().slot, 0);
  EXPECT_EQ(b->stats().slot, 1);
  a.reset();
  auto c = open();
  EXPECT_EQ(c->stats().slot, 0);
}

TEST_F(task_log_test, spooler_start_recovers_unlocked_slots) {
  ASSERT_TRUE(env.make_dir(tasklog::log_dir_of("/spool")).ok());
  auto hold = env.try_lock(tasklog::slot_lock_path("/spool", 0));
  ASSERT_TRUE(hold);
  task_log_options killed;
  killed.checkpoint_at_close = false;
  auto writer = open(killed);
  ASSERT_EQ(writer->stats().slot, 1);
  ASSERT_TRUE(writer->enqueue(name(5), task_file(name(5))));
  writer.reset();                                          // killed: its segment stays active
  ASSERT_TRUE(env.remove_file("/spool/" + name(5)).ok());  // lost
  hold->reset();
  task_log_options o;
  o.recover_unlocked = true;
  auto spooler = open(o);
  ASSERT_TRUE(spooler);
  EXPECT_EQ(spooler->stats().slot, 0);
  EXPECT_EQ(content_of(env, "/spool/" + name(5)), task_file(name(5)));
  EXPECT_EQ(spooler->stats().recovery.materialized, 1U);
}

TEST_F(task_log_test, a_dead_writers_slot_is_recovered_before_a_segment_is_reused) {
  task_log_options o;
  o.segment_size = 4096;
  auto spooler = open(o);
  task_log_options killed = o;
  killed.checkpoint_at_close = false;
  auto writer = open(killed);
  ASSERT_EQ(writer->stats().slot, 1);
  ASSERT_TRUE(writer->enqueue(name(1), task_file(name(1))));
  writer.reset();                                          // killed: its slot stays active
  ASSERT_TRUE(env.remove_file("/spool/" + name(1)).ok());  // the spooler ran it
  ASSERT_TRUE(spooler->done(name(1)));
  for (int i = 100; spooler->stats().switches < 3; ++i) {
    ASSERT_TRUE(spooler->enqueue(name(i), task_file(name(i), 300)));
  }
  EXPECT_EQ(spooler->stats().dead_slots, 1U);
  // The done record of task 1 is overwritten by now; the writer's slot no longer needs it.
  env.cut_now();
  spooler.reset();
  env.reboot();
  o.recover_unlocked = true;
  auto again = open(o);
  ASSERT_TRUE(again);
  EXPECT_FALSE(env.exists("/spool/" + name(1)));
}

// A writer (slot 0) enqueues task 1 and lives on; the spooler (slot 1) runs it, writes its done
// record and then fills both of its segments with other done records, so that record is gone;
// then the writer is killed and a spooler start recovers its slot. Returns whether task 1's file
// was written again (it would run twice).
bool run_again_after_done_records_reused(fault_env& env, std::chrono::milliseconds max_age,
                                         const std::function<void(task_log&)>& between) {
  task_log_options w;
  w.max_segment_age = max_age;
  w.checkpoint_at_close = false;  // killed below
  auto writer = task_log::open(env, "/spool", w);
  task_log_options sp;
  sp.segment_size = 4096;
  auto spooler = task_log::open(env, "/spool", sp);
  if (!writer || !spooler) return false;
  const std::string t = "uwsgi_spoolfile_on_h_1_1";
  EXPECT_TRUE((*writer)->enqueue(t, task_file(t)));
  EXPECT_TRUE(env.remove_file("/spool/" + t).ok());  // the spooler ran it
  EXPECT_TRUE((*spooler)->done(t));
  between(**writer);
  for (int i = 0; (*spooler)->stats().switches < 3; ++i) {
    EXPECT_TRUE((*spooler)->done("uwsgi_spoolfile_on_h_1_other_" + std::to_string(i)));
  }
  EXPECT_TRUE((*spooler)->flush().ok());
  writer->reset();  // killed
  spooler->reset();
  task_log_options start;
  start.recover_unlocked = true;
  auto again = task_log::open(env, "/spool", start);
  EXPECT_TRUE(again);
  return env.exists("/spool/" + t);
}

TEST_F(task_log_test, a_live_writers_segment_is_checkpointed_once_aged_even_idle) {
  // Without the age limit, the writer's segment outlives the done record of its task: the task
  // would run again (the limit this closes).
  EXPECT_TRUE(
      run_again_after_done_records_reused(env, std::chrono::milliseconds(0), [](task_log&) {}));
  ASSERT_TRUE(env.remove_file("/spool/uwsgi_spoolfile_on_h_1_1").ok());
  // With it, the idle writer's checkpointer switches the aged segment and checkpoints it.
  EXPECT_FALSE(
      run_again_after_done_records_reused(env, std::chrono::milliseconds(20), [](task_log& w) {
        EXPECT_TRUE(wait_for([&] { return w.stats().checkpoints >= 1; }));
        EXPECT_EQ(w.stats().aged_switches, 1U);
        EXPECT_EQ(w.stats().switches, 1U);
      }));
}

TEST_F(task_log_test, a_busy_writers_aged_segment_is_switched_by_its_commits) {
  env.set_sync_delay(std::chrono::milliseconds(2));  // the leader is mostly in its sync
  task_log_options o;
  o.max_segment_age = std::chrono::milliseconds(20);
  auto log = open(o);
  ASSERT_TRUE(log);
  std::atomic<bool> stop{false};
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      while (!stop) {
        const std::string n = name(next++);
        if (!log->enqueue(n, task_file(n))) ++failures;
      }
    });
  }
  EXPECT_TRUE(wait_for([&] { return log->stats().checkpoints >= 3; }));
  stop = true;
  for (auto& t : ts) t.join();
  const task_log_stats st = log->stats();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(st.stalls, 0U);  // an aged switch never waits for a checkpoint
  EXPECT_GE(st.aged_switches, 3U);
  EXPECT_EQ(st.aged_switches, st.switches);  // never full
  // Nothing acknowledged is lost across the switches.
  const int tasks = next;
  env.cut_now();
  log.reset();
  env.reboot();
  log = open();
  ASSERT_TRUE(log);
  for (int i = 0; i < tasks; ++i)
    EXPECT_EQ(content_of(env, "/spool/" + name(i)), task_file(name(i))) << i;
}

TEST_F(task_log_test, a_clean_close_checkpoints_so_no_recovery_reads_the_slot) {
  auto log = open();
  ASSERT_TRUE(log);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->enqueue(name(i), task_file(name(i))));
  const std::uint64_t fs_syncs = env.fs_syncs();
  log.reset();
  EXPECT_EQ(env.fs_syncs(), fs_syncs + 1);  // its files made durable
  // A cut now loses nothing: the files are durable on their own.
  env.cut_now();
  env.reboot();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(content_of(env, "/spool/" + name(i)), task_file(name(i)));
  // The spooler runs task 0, whose done record is then lost (or overwritten): no recovery
  // brings it back, since the slot's segments are clean.
  ASSERT_TRUE(env.remove_file("/spool/" + name(0)).ok());
  task_log_options start;
  start.recover_unlocked = true;
  auto spooler = open(start);
  ASSERT_TRUE(spooler);
  EXPECT_FALSE(env.exists("/spool/" + name(0)));
  EXPECT_EQ(spooler->stats().recovery.tasks, 0U);
  EXPECT_EQ(spooler->stats().recovery.segments_recovered, 0U);
}

TEST_F(task_log_test, a_close_with_done_records_only_syncs_no_file) {
  auto log = open();
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->done(name(1)));
  const std::uint64_t fs_syncs = env.fs_syncs();
  log.reset();
  EXPECT_EQ(env.fs_syncs(), fs_syncs);
}

}  // namespace
}  // namespace brood::spooler

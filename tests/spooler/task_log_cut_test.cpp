// Power cuts at random points over the fault env (the guarantees of docs/spool_format.md, "The
// task log"). Each round opens the log (which recovers), runs producers and a completer until
// the power goes off at a random call -- mid-batch, mid-sync, mid-checkpoint, or during the
// recovery of the next open -- then reboots over the crash image and checks, after the next
// successful open:
//   * every acknowledged task exists, byte-equal to what was enqueued, unless it was completed;
//   * a completed task whose done record was durable (its seq <= the log's durable_seq) is gone;
//   * every spool file there is a task that was enqueued (acknowledged or not), never garbage
//     in place of an acknowledged one.
// With the file pool, the completer sets done files aside in /spool/.brood_pool (as a spooler
// does, file_pool.hpp) and the log writes new tasks on them: after a cut a task's name may show
// a done task's bytes, which recovery must replace.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "fault_env.hpp"
#include "file_pool.hpp"
#include "task_log.hpp"
#include "task_log_fixture.hpp"

namespace brood::spooler {
namespace {

using namespace testing_log;

enum class fate { attempted, acked, done_durable, uncertain, torn };

struct model {
  std::mutex mu;
  std::map<std::string, wire::bytes> content;  // every task ever enqueued (rel path)
  std::map<std::string, fate> state;
  std::deque<std::string> runnable;               // acked, not yet completed
  std::map<std::string, std::uint64_t> done_seq;  // completed this round
};

class task_log_cut_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env.make_dir("/spool").ok());
    ASSERT_TRUE(env.make_dir("/spool/3").ok());
    env.set_sync_delay(std::chrono::microseconds(20));  // cuts may fall inside a sync
  }

  // Producers and a completer until the power is off (or `quota` tasks, then a cut).
  // `done_log` takes the done records (the spooler's own log, or the producers' one).
  void run_until_cut(task_log& log, task_log& done_log, int round, int quota, bool pool) {
    std::atomic<int> made{0};
    auto producer = [&](int p) {
      std::mt19937 rng(static_cast<unsigned>(round * 31 + p));
      for (int i = 0; made++ < quota; ++i) {
        const std::string n = "uwsgi_spoolfile_on_h_" + std::to_string(round) + "_" +
                              std::to_string(p) + "_" + std::to_string(i);
        const std::string rel = (rng() % 4 == 0 ? "3/" : "") + n;
        const wire::bytes file = task_file(n, rng() % 700);
        {
          std::lock_guard l(m.mu);
          m.content[rel] = file;
          m.state[rel] = fate::attempted;
        }
        if (!pool) {
          if (!log.enqueue(rel, file)) return;
        } else {
          // As the log server: the record committed (the task acknowledged), then the file
          // written, on a pooled one when there is one; one task at a time (the watermark).
          std::lock_guard serial(pool_mu);
          const auto seq = log.stage_task(rel, file, true);
          if (!seq || !log.flush().ok()) return;
          {
            std::lock_guard l(m.mu);
            m.state[rel] = fate::acked;
          }
          if (!log.materialize(rel, file).ok()) return;
          log.materialized_through(*seq);
        }
        std::lock_guard l(m.mu);
        m.state[rel] = fate::acked;
        m.runnable.push_back(rel);
      }
    };
    std::atomic<bool> producers_done{false};
    auto completer = [&] {
      while (!env.is_off()) {
        std::string rel;
        {
          std::lock_guard l(m.mu);
          if (!m.runnable.empty()) {
            rel = m.runnable.front();
            m.runnable.pop_front();
            m.state[rel] = fate::uncertain;
          }
        }
        if (rel.empty()) {
          if (producers_done) return;
          std::this_thread::yield();
          continue;
        }
        if (pool && completed_++ % 3 != 2) {  // the same inode renamed into the pool
          const auto bytes = content_of(env, "/spool/" + rel);
          if (!bytes) return;
          const std::string name =
              pool_name(rel.starts_with("3/") ? "3" : "", 1, round * 100000ull + retired_++);
          if (!env.reuse_file("/spool/" + rel, "/spool/.brood_pool", ".t", name, *bytes).ok())
            return;
        } else if (!env.remove_file("/spool/" + rel).ok()) {
          return;
        }
        auto seq = done_log.done(rel);
        if (!seq) return;
        std::lock_guard l(m.mu);
        m.done_seq[rel] = *seq;
      }
    };
    std::vector<std::thread> ts;
    for (int p = 0; p < 3; ++p) ts.emplace_back(producer, p);
    std::thread c(completer);
    for (auto& t : ts) t.join();
    producers_done = true;
    c.join();
    env.cut_now();
    const std::uint64_t durable = done_log.durable_seq();
    std::lock_guard l(m.mu);
    for (const auto& [rel, seq] : m.done_seq) {
      if (seq <= durable) m.state[rel] = fate::done_durable;
    }
    m.done_seq.clear();
  }

  // After a successful open: the guarantees, then the model restarts from what is there.
  void check(int round) {
    std::map<std::string, bool> present;
    for (const std::string dir : {"", "3/"}) {
      auto names = env.list_dir("/spool/" + dir);
      ASSERT_TRUE(names) << "round " << round << ": " << names.error().message();
      for (const auto& n : *names) {
        if (n.starts_with("uwsgi_spoolfile_on_")) present[dir + n] = true;
      }
    }
    std::lock_guard l(m.mu);
    for (const auto& [rel, f] : m.state) {
      const bool here = present.count(rel) > 0;
      if (f == fate::acked) {
        ASSERT_TRUE(here) << "round " << round << ": acknowledged task lost: " << rel;
        const auto got = content_of(env, "/spool/" + rel);
        ASSERT_EQ(got, m.content[rel])
            << "round " << round << ": " << rel << " holds "
            << (got ? std::string(got->begin() + 12,
                                  got->begin() + std::min<std::size_t>(got->size(), 60))
                    : "");
      }
      if (f == fate::done_durable) {
        ASSERT_FALSE(here) << "round " << round << ": durable done came back: " << rel;
      }
    }
    m.runnable.clear();
    for (const auto& [rel, yes] : present) {
      ASSERT_TRUE(m.content.count(rel)) << "round " << round << ": unknown file " << rel;
      const auto got = content_of(env, "/spool/" + rel);
      if (got == m.content[rel]) {
        m.state[rel] = fate::acked;  // recovered and durable: a task to run again
        m.runnable.push_back(rel);
        ++live_;
      } else {
        // Only a task never acknowledged (no record reached the log) can be torn here. The
        // spooler would quarantine it; here it stays (a removal could meet the armed cut).
        ASSERT_NE(m.state[rel], fate::acked) << rel;
        // Never another task's whole file under this name (a reused file whose removal from
        // its done task's name was not durable): the spooler would run that task twice.
        wire::spool_file_view v;
        if (got && wire::decode_spool_file(*got, v).is_done() && v.checksummed) {
          for (const wire::var& x : v.vars)
            if (x.key == "task")
              ASSERT_TRUE(rel.ends_with(x.value))
                  << "round " << round << ": " << rel << " holds task " << x.value;
        }
        if (m.state[rel] != fate::torn) ++torn_unacked_;
        m.state[rel] = fate::torn;
      }
    }
    for (auto& [rel, f] : m.state) {
      if (!present.count(rel)) f = fate::done_durable;  // gone for good after a recovery
    }
    // check() makes no call that could meet the cut armed for this round.
  }

  // `rounds` cuts; with `two_writers`, the producers and the completer (a spooler) write to
  // two logs (two slots), so done records and task records are in different slots.
  // `max_age`: the segments' age limit (task_log_options::max_segment_age).
  void run_rounds(int rounds, bool two_writers, bool pool = false,
                  std::chrono::milliseconds max_age = std::chrono::milliseconds(2000)) {
    std::mt19937 rng(7);
    task_log_options o;
    o.segment_size = 16 * 1024;  // a switch and checkpoint every ~30 tasks
    o.max_segment_age = max_age;
    o.recover_unlocked = true;  // the spooler's start
    int cuts = 0, recovery_cuts = 0;
    std::uint64_t acked = 0, materialized = 0, checkpoints = 0, stalls = 0, aged = 0;
    for (int round = 0; round < rounds; ++round) {
      const bool in_recovery = rng() % 4 == 0;
      env.cut_after(in_recovery ? rng() % 40 : 40 + rng() % 3000);
      std::unique_ptr<task_log> spooler, producer;
      if (auto l = task_log::open(env, "/spool", o)) spooler = std::move(*l);
      if (spooler && two_writers) {
        if (auto l = task_log::open(env, "/spool", o)) producer = std::move(*l);
      }
      if (!spooler || (two_writers && !producer)) {
        ASSERT_TRUE(env.is_off());
        ++recovery_cuts;
        producer.reset();
        spooler.reset();
        env.reboot();
        continue;
      }
      task_log& prod = two_writers ? *producer : *spooler;
      materialized += spooler->stats().recovery.materialized;
      check(round);
      if (HasFatalFailure()) return;
      run_until_cut(prod, *spooler, round, 600, pool);
      acked += prod.stats().tasks;
      checkpoints += spooler->stats().checkpoints + (two_writers ? prod.stats().checkpoints : 0);
      stalls += prod.stats().stalls;
      aged += prod.stats().aged_switches;
      producer.reset();
      spooler.reset();
      env.reboot();
      ++cuts;
    }
    auto log = task_log::open(env, "/spool", o);
    ASSERT_TRUE(log);
    check(-1);
    std::printf(
        "cuts: %d (%d during recovery), tasks committed %llu, re-materialized %llu, "
        "checkpoints %llu, stalls %llu, switches for age %llu, live after recovery %llu, torn "
        "unacknowledged %llu\n",
        cuts, recovery_cuts, static_cast<unsigned long long>(acked),
        static_cast<unsigned long long>(materialized), static_cast<unsigned long long>(checkpoints),
        static_cast<unsigned long long>(stalls), static_cast<unsigned long long>(aged),
        static_cast<unsigned long long>(live_), static_cast<unsigned long long>(torn_unacked_));
    if (max_age < std::chrono::milliseconds(10)) EXPECT_GT(aged, 0U);
    EXPECT_GT(acked, 5000U);
    EXPECT_GT(materialized, 0U);
    EXPECT_GT(recovery_cuts, 0);
    if (pool) {  // the writers took pooled files (beyond the completer's own renames)
      std::printf("done files pooled %llu, new tasks written on them %llu\n",
                  static_cast<unsigned long long>(retired_),
                  static_cast<unsigned long long>(env.reused_files() - retired_));
      EXPECT_GT(env.reused_files(), retired_ + 1000);
    }
  }

  fault_env env{2026};
  model m;
  std::uint64_t live_ = 0, torn_unacked_ = 0;
  std::uint64_t completed_ = 0, retired_ = 0;  // done files; those moved into the pool
  std::mutex pool_mu;                          // the producers' order with the pool
};

TEST_F(task_log_cut_test, no_acknowledged_task_is_lost_across_many_cuts) { run_rounds(100, false); }

TEST_F(task_log_cut_test, same_with_done_records_in_the_spoolers_own_slot) {
  run_rounds(100, true);
}

TEST_F(task_log_cut_test, same_with_done_files_reused_for_new_tasks) {
  run_rounds(100, true, true);
}

// Segments switched for their age too (by a commit, or by the checkpointer while the producers
// are idle), so that cuts also fall in those switches and their checkpoints.
TEST_F(task_log_cut_test, same_with_segments_switched_for_age) {
  run_rounds(100, true, true, std::chrono::milliseconds(1));
}

}  // namespace
}  // namespace brood::spooler

#pragma once
// The group-committed task log of one spool directory (docs/spool_format.md, "The task log").
//
// open() claims the first free slot of DIR/.brood_log (an exclusive lock on slot-N.lock),
// creates its two preallocated segments if missing, recovers them if they are not clean (see
// log_recovery.hpp) and starts the current segment with a new generation.
//
// enqueue() writes the task's spool file (temp + rename, no fsync), appends the task's record to
// the pending batch and returns only once a fdatasync covering that record has succeeded: the
// task is then acknowledged. One thread at a time leads: it takes the whole pending batch, writes
// it with one pwrite and one fdatasync, while the next batch gathers behind it.
// done() appends a done record (the task ran and its file was removed) without waiting for a sync.
// When a record does not fit in the current segment, the writer switches to the slot's other
// segment (waiting until it is clean: back-pressure, never an overwrite), and a background
// thread checkpoints the full one: sync_fs of the dir (every spool file written so far becomes
// durable), then its header is rewritten as clean. Checkpoints are never on the ack path.
// Before a segment is reused, the slots of dead writers (lock free, a segment active) are
// recovered, while the done records that segment holds can still be read.
// A segment holding task records is also switched once its first task record is
// max_segment_age old, by the next commit or, when none comes, by the checkpointer thread itself:
// so a live writer's active segment never outlives the done records of its tasks, which the
// spooler writes into its own slot and reuses once it has filled both of its segments.
// Destroying a task_log (a clean close) flushes it, then makes every spool file durable
// (sync_fs) and marks its segments clean, so that no later recovery of the slot reads them: a
// killed writer leaves them active, and the next owner of the slot, a spooler start or another
// writer's next switch recovers them.
//
// After the first I/O failure of the log itself the log is broken: every later call fails with
// that error (the files it may have left are recovered by the next open).
// Thread-safety: every member may be called from any thread concurrently.
// Processes: open the log in the process that uses it, after any fork. A child forked while a
// log is open shares the slot's OFD lock (the slot stays claimed until both close it) and has no
// checkpointer thread: it must not use the parent's log.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "file_pool.hpp"
#include "log_env.hpp"
#include "log_record.hpp"
#include "log_recovery.hpp"

namespace brood::spooler {

struct task_log_options {
  std::uint64_t segment_size = 4 << 20;  // bytes of each preallocated segment
  int max_slots = 256;                   // slots tried by open()
  bool recover_unlocked = false;         // also recover every other unlocked slot (spooler start)
  // A segment whose first task record is this old is switched and checkpointed, full or not
  // (zero: only when full).
  std::chrono::milliseconds max_segment_age{2000};
  // The destructor checkpoints the segments (false: it leaves them as a killed writer would;
  // tests of recovery use it).
  bool checkpoint_at_close = true;
};

struct task_log_stats {
  int slot = -1;
  std::uint64_t tasks = 0;            // task records committed
  std::uint64_t dones = 0;            // done records written
  std::uint64_t commits = 0;          // batch fdatasyncs
  std::uint64_t last_batch = 0;       // records in the last committed batch
  std::uint64_t max_batch = 0;        // most records in one batch
  std::uint64_t switches = 0;         // segment switches
  std::uint64_t aged_switches = 0;    // of which switches of a segment not full (max_segment_age)
  std::uint64_t checkpoints = 0;      // segments marked clean by the checkpointer
  std::uint64_t stalls = 0;           // switches that had to wait for a checkpoint
  std::uint64_t dead_slots = 0;       // slots of dead writers recovered before a reuse
  std::uint64_t durable_seq = 0;      // every record with a seq up to this is durable
  std::uint64_t reused_files = 0;     // spool files written on a pooled file (file_pool.hpp)
  tasklog::recovery_report recovery;  // what open() recovered
};

class task_log {
 public:
  static os::result<std::unique_ptr<task_log>> open(log_env& env, std::string spool_dir,
                                                    task_log_options opts = {});
  // Writes the pending done records, stops the checkpointer, checkpoints the segments (unless
  // the log is broken or a file_later record's file was never written: then the next recovery
  // reads them), releases the slot.
  ~task_log();
  task_log(const task_log&) = delete;
  task_log& operator=(const task_log&) = delete;

  // `rel_path`: the spool file's path relative to the spool dir (its parent dir must exist);
  // `file`: its whole bytes. Returns the record's seq once it is durable.
  os::result<std::uint64_t> enqueue(const std::string& rel_path, wire::bytes_view file);
  // Only the record of enqueue(): the caller writes the spool file itself (another process of
  // the node, log_server.hpp), and acknowledges the task once both this and its write returned.
  os::result<std::uint64_t> commit_task(const std::string& rel_path, wire::bytes_view file);
  // Only appends the record of commit_task() to the pending batch and returns its seq at once,
  // without writing or syncing anything: the caller makes it durable with flush() (one commit
  // for every record it staged, log_server.cpp's single-threaded group commit).
  // `file_later`: the caller writes the task's spool file only after the commit (with
  // materialize(), then materialized_through()): a checkpoint of the segment holding the record
  // waits for that, so a segment is never marked clean while an acknowledged task has no file.
  os::result<std::uint64_t> stage_task(const std::string& rel_path, wire::bytes_view file,
                                       bool file_later = false);
  // Writes the spool file of a task record (temp + rename in the dir, no fsync) through the
  // log's env, on a pooled file when the dir's pool has one (file_pool.hpp). Called for a
  // record staged with file_later once its commit is done (only then may the file be a reused
  // one: recovery checks it against its durable record).
  os::status materialize(const std::string& rel_path, wire::bytes_view file);
  // Every record staged with file_later whose seq is <= `seq` has its file written, or will never
  // be acknowledged (its commit failed, or its task was cancelled with a done record). Ignored
  // once the log is broken.
  void materialized_through(std::uint64_t seq);
  // Breaks the log with `why` (the file of an acknowledged task could not be written): every
  // later call fails, no segment is marked clean again, and the next recovery writes the file.
  void fail(const os::status& why);
  // Appends a done record for `rel_path`; returns its seq (durable once durable_seq() >= it).
  os::result<std::uint64_t> done(const std::string& rel_path);
  // Waits until every record appended so far is durable.
  os::status flush();

  task_log_stats stats() const;
  std::uint64_t durable_seq() const;
  const std::string& spool_dir() const noexcept { return dir_; }
  // The size of the segments appended to (set by open(), then constant).
  std::uint64_t segment_size() const noexcept { return segment_size_; }

 private:
  struct pending_record {
    tasklog::record_type type;
    std::uint64_t seq;
    std::string path;
    wire::bytes data;
  };
  struct segment {
    std::string path;
    std::unique_ptr<log_file> file;
    tasklog::segment_header header;
  };

  task_log(log_env& env, std::string dir, task_log_options opts);
  os::status claim_slot();
  os::status open_segments();
  os::status start_segment(int which, std::uint64_t first_seq);
  os::result<std::uint64_t> append(pending_record r, bool wait, bool lead_now = true,
                                   bool file_later = false);
  void lead(std::unique_lock<std::mutex>& lock);  // REQUIRES: lock held, no leader
  os::status sync_only(std::unique_lock<std::mutex>& lock);
  os::status write_batch(std::vector<pending_record>& batch, bool sync);
  // `aged`: a segment not full, switched for its age (counted in stats().aged_switches).
  os::status switch_segment(std::uint64_t first_seq, bool aged = false);
  // The spool file of `rel_path` (temp + rename in its dir): on a pooled file when `reuse` and
  // the dir has a pool, else a new one.
  os::status write_spool_file(const std::string& rel_path, wire::bytes_view file, bool reuse);
  // Locks every other slot whose lock is free (its writer is gone); `locks` keeps them.
  os::result<std::vector<int>> free_slots(std::vector<std::unique_ptr<log_lock>>& locks);
  bool needs_recovery(int slot);  // a segment of `slot` is active
  os::status recover_dead_slots();
  void checkpointer();
  // The checkpointer's idle step: switches an aged segment itself, or asks the leader to
  // (switch_due_). Returns when to look again. REQUIRES: lock held, no checkpoint to do.
  std::chrono::steady_clock::time_point age_step(std::unique_lock<std::mutex>& lock);
  void close_clean();  // the destructor's checkpoint; REQUIRES: no other thread left

  log_env& env_;
  const std::string dir_;
  const task_log_options opts_;
  int slot_ = -1;
  std::unique_ptr<log_lock> lock_;
  segment seg_[2];
  std::unique_ptr<file_pool> pool_;  // null when DIR/.brood_pool cannot be made

  mutable std::mutex mu_;
  std::condition_variable cv_;  // durable_seq_, leader_, clean_
  // checkpoint_todo_, stopping_: the checkpointer's own, so that a commit's notify_all wakes no
  // idle checkpointer (two futex calls and a context switch per commit otherwise).
  std::condition_variable checkpoint_cv_;
  std::vector<pending_record> pending_;
  bool pending_task_ = false;  // pending_ holds a task record (its batch must be synced)
  bool force_sync_ = false;    // flush(): sync the next batch even without a task record
  bool leader_ = false;
  std::uint64_t next_seq_ = 1, written_seq_ = 0, durable_seq_ = 0;
  os::status failed_;
  int cur_ = 0;               // the segment appended to (changed by the leader, under mu_)
  std::uint64_t offset_ = 0;  // next write offset in it (owned by the leader)
  std::uint64_t segment_size_ = 0;
  bool clean_[2] = {true, true};
  // Per segment: when the leader wrote its first task record since its start (steady clock
  // nanoseconds; 0: none).
  std::atomic<std::int64_t> task_since_ns_[2] = {0, 0};
  std::atomic<bool> switch_due_{false};  // the next batch switches first (an aged segment)
  int checkpoint_todo_ = -1;
  std::uint64_t checkpoint_last_seq_ = 0;  // the last record of the segment to checkpoint
  std::uint64_t file_later_max_ = 0;       // the highest seq staged with file_later
  std::uint64_t materialized_ = 0;         // materialized_through()'s
  bool stopping_ = false;
  task_log_stats stats_;
  std::thread checkpointer_;
};

}  // namespace brood::spooler

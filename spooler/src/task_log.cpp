#include "task_log.hpp"

#include <algorithm>
#include <cerrno>

#include "brood/os/log.hpp"
#include "log_segment.hpp"

namespace brood::spooler {

using namespace tasklog;

task_log::task_log(log_env& env, std::string dir, task_log_options opts)
    : env_(env), dir_(std::move(dir)), opts_(opts) {}

os::result<std::unique_ptr<task_log>> task_log::open(log_env& env, std::string spool_dir,
                                                     task_log_options opts) {
  while (spool_dir.size() > 1 && spool_dir.back() == '/') spool_dir.pop_back();
  std::unique_ptr<task_log> log(new task_log(env, std::move(spool_dir), opts));
  if (auto s = env.make_dir(log_dir_of(log->dir_)); !s.ok()) return s;
  if (env.make_dir(pool_dir_of(log->dir_)).ok())  // else each file is a new one
    log->pool_ = std::make_unique<file_pool>(env, log->dir_);
  if (auto s = log->claim_slot(); !s.ok()) return s;
  if (auto s = log->open_segments(); !s.ok()) return s;
  log->stats_.slot = log->slot_;
  log->checkpointer_ = std::thread([l = log.get()] { l->checkpointer(); });
  return log;
}

task_log::~task_log() {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !leader_; });
    if (!pending_.empty() && failed_.ok()) {
      force_sync_ = true;
      lead(lock);
    }
    stopping_ = true;
    cv_.notify_all();
    checkpoint_cv_.notify_all();
  }
  if (checkpointer_.joinable()) checkpointer_.join();
  if (opts_.checkpoint_at_close) close_clean();
}

// The checkpoint of §9.4 for every segment not clean yet, at a clean close: once it is done no
// recovery reads them, whatever later happens to the spooler's done records of their tasks.
void task_log::close_clean() {
  if (!failed_.ok() || materialized_ < file_later_max_) return;  // the next recovery reads them
  bool tasks = false;
  for (int which = 0; which < 2; ++which)
    tasks = tasks || (!clean_[which] && task_since_ns_[which].load() != 0);
  os::status s = tasks ? env_.sync_fs(dir_) : os::status{};  // done records only: no file to sync
  for (int which = 0; which < 2 && s.ok(); ++which) {
    if (clean_[which]) continue;
    segment_header h = seg_[which].header;
    h.state = segment_state::clean;
    s = write_header(*seg_[which].file, h);
  }
  if (!s.ok()) {
    os::log("task log ", dir_,
            ": cannot checkpoint at close (the next recovery reads it): ", s.message());
  }
}

os::result<std::uint64_t> task_log::enqueue(const std::string& rel_path, wire::bytes_view file) {
  if (!valid_path(rel_path)) {
    return os::status::from_errno(EINVAL, "bad spool file path \"" + rel_path + "\"");
  }
  if (record_size(rel_path, file.size()) > segment_size_ - header_size) {
    return os::status::from_errno(EFBIG, "task " + rel_path + " does not fit in a log segment");
  }
  {
    std::lock_guard lock(mu_);
    if (!failed_.ok()) return failed_;
  }
  // A new file, never a pooled one: this file comes before its record, so after a cut it may
  // exist with no record to check it against, and a reused one could show a done task's bytes.
  if (auto s = write_spool_file(rel_path, file, false); !s.ok()) return s;
  auto seq = append({record_type::task, 0, rel_path, wire::bytes(file.begin(), file.end())}, true);
  if (!seq) (void)env_.remove_file(dir_ + "/" + rel_path);  // not acknowledged: best effort
  return seq;
}

os::status task_log::materialize(const std::string& rel_path, wire::bytes_view file) {
  return write_spool_file(rel_path, file, true);
}

os::status task_log::write_spool_file(const std::string& rel_path, wire::bytes_view file,
                                      bool reuse) {
  const auto slash = rel_path.rfind('/');
  const std::string sub =
      slash == std::string::npos ? dir_ : dir_ + "/" + rel_path.substr(0, slash);
  const std::string name = slash == std::string::npos ? rel_path : rel_path.substr(slash + 1);
  if (reuse && pool_) return pool_->write_file(sub, ".brood_tmp_" + name, name, file);
  return env_.write_file(sub, ".brood_tmp_" + name, name, file);
}

void task_log::materialized_through(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  // A broken log's watermark stays where it is: a file of an earlier record may be missing.
  if (seq <= materialized_ || !failed_.ok()) return;
  materialized_ = seq;
  // Only a checkpoint in progress waits on the watermark (checkpoint_todo_ stays set until it
  // ends); an idle checkpointer woken at every round cost a futex wake-up and a context switch
  // per round (seen in perf trace: the checkpointer thread ran once per task).
  if (checkpoint_todo_ >= 0) checkpoint_cv_.notify_all();
}

void task_log::fail(const os::status& why) {
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return;
  os::log("task log ", dir_, ": ", why.message());
  failed_ = why;
  cv_.notify_all();
  checkpoint_cv_.notify_all();
}

os::result<std::uint64_t> task_log::commit_task(const std::string& rel_path,
                                                wire::bytes_view file) {
  if (!valid_path(rel_path)) {
    return os::status::from_errno(EINVAL, "bad spool file path \"" + rel_path + "\"");
  }
  if (record_size(rel_path, file.size()) > segment_size_ - header_size) {
    return os::status::from_errno(EFBIG, "task " + rel_path + " does not fit in a log segment");
  }
  return append({record_type::task, 0, rel_path, wire::bytes(file.begin(), file.end())}, true);
}

os::result<std::uint64_t> task_log::stage_task(const std::string& rel_path, wire::bytes_view file,
                                               bool file_later) {
  if (!valid_path(rel_path)) {
    return os::status::from_errno(EINVAL, "bad spool file path \"" + rel_path + "\"");
  }
  if (record_size(rel_path, file.size()) > segment_size_ - header_size) {
    return os::status::from_errno(EFBIG, "task " + rel_path + " does not fit in a log segment");
  }
  return append({record_type::task, 0, rel_path, wire::bytes(file.begin(), file.end())}, false,
                false, file_later);
}

os::result<std::uint64_t> task_log::done(const std::string& rel_path) {
  if (!valid_path(rel_path)) {
    return os::status::from_errno(EINVAL, "bad spool file path \"" + rel_path + "\"");
  }
  return append({record_type::done, 0, rel_path, {}}, false);
}

os::result<std::uint64_t> task_log::append(pending_record r, bool wait, bool lead_now,
                                           bool file_later) {
  std::unique_lock lock(mu_);
  if (!failed_.ok()) return failed_;
  const std::uint64_t seq = r.seq = next_seq_++;
  if (file_later) file_later_max_ = seq;
  if (r.type == record_type::task) pending_task_ = true;
  pending_.push_back(std::move(r));
  if (!wait) {
    if (!leader_ && lead_now) lead(lock);
    return seq;
  }
  while (durable_seq_ < seq) {
    if (!failed_.ok()) return failed_;
    if (!leader_) {
      lead(lock);
    } else {
      cv_.wait(lock);
    }
  }
  return seq;
}

// Writes batches until nothing is pending, or a task record waits (its enqueuer leads next).
void task_log::lead(std::unique_lock<std::mutex>& lock) {
  leader_ = true;
  while (!pending_.empty() && failed_.ok()) {
    std::vector<pending_record> batch = std::move(pending_);
    pending_.clear();
    const bool sync = pending_task_ || force_sync_;
    pending_task_ = force_sync_ = false;
    const std::uint64_t last = batch.back().seq;
    lock.unlock();
    os::status s = write_batch(batch, sync);
    lock.lock();
    if (!s.ok()) {
      os::log("task log ", dir_, ": ", s.message());
      failed_ = s;
      break;
    }
    written_seq_ = last;
    for (const auto& r : batch) ++(r.type == record_type::task ? stats_.tasks : stats_.dones);
    if (sync) {
      durable_seq_ = last;
      ++stats_.commits;
      stats_.last_batch = batch.size();
      stats_.max_batch = std::max<std::uint64_t>(stats_.max_batch, batch.size());
    }
    cv_.notify_all();
    if (pending_task_) break;
  }
  leader_ = false;
  cv_.notify_all();
}

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

os::status task_log::write_batch(std::vector<pending_record>& batch, bool sync) {
  if (switch_due_.exchange(false)) {  // the checkpointer found the segment aged (age_step)
    const std::int64_t since = task_since_ns_[cur_].load();
    bool other_clean = false;
    {
      std::lock_guard lock(mu_);
      other_clean = clean_[1 - cur_];
    }
    // Rechecked: a switch (full) since then started a younger segment; never a stall here.
    if (since != 0 && other_clean &&
        now_ns() - since >= std::chrono::nanoseconds(opts_.max_segment_age).count()) {
      if (auto s = switch_segment(batch.front().seq, true); !s.ok()) return s;
    }
  }
  wire::bytes buf;
  std::uint64_t start = offset_;
  for (const auto& r : batch) {
    if (offset_ + buf.size() + record_size(r.path, r.data.size()) > segment_size_) {
      if (auto s = seg_[cur_].file->pwrite(start, buf); !s.ok()) return s;
      offset_ += buf.size();
      buf.clear();
      if (auto s = switch_segment(r.seq); !s.ok()) return s;
      start = offset_;
    }
    if (r.type == record_type::task && task_since_ns_[cur_].load() == 0)
      task_since_ns_[cur_].store(now_ns());
    append_record(buf, {r.type, seg_[cur_].header.generation, r.seq, r.path, r.data});
  }
  if (auto s = seg_[cur_].file->pwrite(start, buf); !s.ok()) return s;
  offset_ += buf.size();
  return sync ? seg_[cur_].file->datasync() : os::status{};
}

// The full segment is synced (its done records too), the other one restarted once clean.
os::status task_log::switch_segment(std::uint64_t first_seq, bool aged) {
  const int full = cur_;
  if (auto s = seg_[full].file->datasync(); !s.ok()) return s;
  {
    std::unique_lock lock(mu_);
    if (!clean_[1 - full]) ++stats_.stalls;
    cv_.wait(lock, [&] { return clean_[1 - full] || !failed_.ok(); });
    if (!failed_.ok()) return failed_;
  }
  if (auto s = recover_dead_slots(); !s.ok()) return s;
  if (auto s = start_segment(1 - full, first_seq); !s.ok()) return s;
  std::lock_guard lock(mu_);
  checkpoint_todo_ = full;
  checkpoint_last_seq_ = first_seq - 1;
  ++stats_.switches;
  if (aged) ++stats_.aged_switches;
  checkpoint_cv_.notify_all();
  return {};
}

// Makes every spool file durable, then marks the full segment clean. Never on the ack path.
void task_log::checkpointer() {
  for (;;) {
    int which = -1;
    {
      std::unique_lock lock(mu_);
      while (checkpoint_todo_ < 0 && !stopping_) {
        const auto next = age_step(lock);
        if (checkpoint_todo_ >= 0 || stopping_) break;
        checkpoint_cv_.wait_until(lock, next);
      }
      if (checkpoint_todo_ < 0) return;
      which = checkpoint_todo_;
      // The files of the segment's records staged with file_later must be written before the
      // sync_fs that makes them durable (else the segment could be marked clean while an
      // acknowledged task's file exists nowhere).
      const auto files_written = [&] {
        return materialized_ >= std::min(checkpoint_last_seq_, file_later_max_);
      };
      checkpoint_cv_.wait(lock, [&] { return files_written() || stopping_ || !failed_.ok(); });
      if (!files_written()) return;  // the segment stays active: the next recovery reads it
    }
    segment_header h = seg_[which].header;
    h.state = segment_state::clean;
    os::status s = env_.sync_fs(dir_);
    if (s.ok()) s = write_header(*seg_[which].file, h);
    std::lock_guard lock(mu_);
    checkpoint_todo_ = -1;
    if (s.ok()) {
      seg_[which].header = h;
      clean_[which] = true;
      ++stats_.checkpoints;
    } else if (failed_.ok()) {
      os::log("task log ", dir_, ": checkpoint failed: ", s.message());
      failed_ = s;
    }
    cv_.notify_all();
  }
}

std::chrono::steady_clock::time_point task_log::age_step(std::unique_lock<std::mutex>& lock) {
  using clock = std::chrono::steady_clock;
  const auto now = clock::now();
  const auto age = opts_.max_segment_age;
  if (age.count() <= 0 || !failed_.ok()) return now + std::chrono::hours(24);
  // Records staged with no leader to write them: those of done() while this thread led (below).
  // Both segments are usable now (no checkpoint to do), so this never waits for this thread.
  if (!leader_ && !pending_.empty() && !pending_task_ && clean_[1 - cur_]) lead(lock);
  const std::int64_t since = task_since_ns_[cur_].load();
  // No task record yet: one may come meanwhile (polled, so that a commit wakes nobody).
  if (since == 0) return now + age;
  const clock::time_point due{std::chrono::nanoseconds(since) + age};
  if (now < due) return due;
  // Not reached while this thread has a checkpoint to do (checkpointer() does it first); kept so
  // that the switch below can never wait for a checkpoint only this thread would make.
  if (!clean_[1 - cur_]) return now + age;
  if (leader_ || !pending_.empty()) {  // a writer is at work: it switches first
    switch_due_ = true;
    return now + age;
  }
  // Idle: the checkpointer leads for one switch (appends wait for it as for any leader).
  leader_ = true;
  const std::uint64_t first = next_seq_;
  lock.unlock();
  const os::status s = switch_segment(first, true);
  lock.lock();
  leader_ = false;
  switch_due_ = false;
  if (!s.ok() && failed_.ok()) {
    os::log("task log ", dir_, ": ", s.message());
    failed_ = s;
  }
  cv_.notify_all();  // an enqueuer that waited leads now; a done record staged meanwhile
  return now;        // is written at the next step, once the full segment's checkpoint is done
}

os::status task_log::flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = next_seq_ - 1;
  while (durable_seq_ < target) {
    if (!failed_.ok()) return failed_;
    if (leader_) {
      cv_.wait(lock);
    } else if (!pending_.empty()) {
      force_sync_ = true;
      lead(lock);
    } else if (auto s = sync_only(lock); !s.ok()) {
      return s;
    }
  }
  return failed_;
}

// Syncs what is written already (done records written without a sync).
os::status task_log::sync_only(std::unique_lock<std::mutex>& lock) {
  leader_ = true;
  const std::uint64_t written = written_seq_;
  lock.unlock();
  os::status s = seg_[cur_].file->datasync();
  lock.lock();
  leader_ = false;
  if (s.ok()) {
    durable_seq_ = std::max(durable_seq_, written);
  } else if (failed_.ok()) {
    failed_ = s;
  }
  cv_.notify_all();
  return s;
}

task_log_stats task_log::stats() const {
  std::lock_guard lock(mu_);
  task_log_stats s = stats_;
  s.durable_seq = durable_seq_;
  if (pool_) s.reused_files = pool_->reused();
  return s;
}

std::uint64_t task_log::durable_seq() const {
  std::lock_guard lock(mu_);
  return durable_seq_;
}

}  // namespace brood::spooler

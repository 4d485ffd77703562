// log_materializer: the spool files of the committed and answered tasks, written by the log
// thread or its helper thread (log_materializer.hpp).
#include "log_materializer.hpp"

#include <utility>

#include "task_log.hpp"

namespace brood::spooler {

log_materializer::~log_materializer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (helper_.joinable()) helper_.join();
  write_queued(true);  // nothing is left unless the log thread did not write it before it ended
}

void log_materializer::queue(std::vector<file> files, std::map<std::size_t, std::uint64_t> last) {
  if (files.empty() && last.empty()) return;
  watermarks done;
  {
    std::lock_guard lock(mu_);
    waiting_files_ += files.size();
    rounds_.push_back({std::move(files), std::move(last)});
    pop_written(done);  // a round with no file to write
  }
  advance(done);
}

bool log_materializer::pending() const {
  std::lock_guard lock(mu_);
  return waiting_files_ > 0;
}

void log_materializer::wake_helper() {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (waiting_files_ == 0) return;
    if (!helper_.joinable()) helper_ = std::thread([this] { helper(); });
    wake = helper_waits_;
  }
  if (wake) wake_.notify_one();
}

void log_materializer::write_queued(bool wait_for_helper) {
  std::unique_lock lock(mu_);
  round* r = nullptr;
  file* f = nullptr;
  while (take(r, f)) {
    lock.unlock();
    write(r, f);
    lock.lock();
  }
  while (wait_for_helper && !rounds_.empty()) {
    owner_waits_ = true;
    idle_.wait(lock);
    owner_waits_ = false;
  }
}

bool log_materializer::take(round*& r, file*& f) {
  if (waiting_files_ == 0) return false;
  for (round& x : rounds_) {
    if (x.next == x.files.size()) continue;
    r = &x;
    f = &x.files[x.next++];
    ++x.writing;
    --waiting_files_;
    return true;
  }
  return false;
}

void log_materializer::pop_written(watermarks& done) {
  while (!rounds_.empty() && rounds_.front().next == rounds_.front().files.size() &&
         rounds_.front().writing == 0) {
    done.push_back(std::move(rounds_.front().last));
    rounds_.pop_front();
  }
}

// Two threads may advance concurrently, each over rounds it popped in order: the watermark only
// moves up (task_log::materialized_through), and a round is popped only once every earlier round
// was, so whichever call lands last leaves it right.
void log_materializer::advance(const watermarks& done) {
  for (const auto& last : done) {
    for (const auto& [d, seq] : last) {
      if (task_log* log = logs_(d)) log->materialized_through(seq);
    }
  }
}

// Writes one file (temp + rename, no fsync). A file that cannot be written breaks its log: the
// task is acknowledged and its record durable, so its segment must stay active until a recovery
// writes the file (the next start's), and no new task is taken meanwhile (a broken log's
// watermark no longer moves).
void log_materializer::write(round* r, file* f) {
  if (task_log* log = logs_(f->dir)) {
    if (os::status s = log->materialize(f->path, f->bytes); !s.ok()) {
      log->fail(os::status(s.code(), "cannot write the spool file of the acknowledged task " +
                                         f->path +
                                         " (its next recovery writes it): " + s.message()));
    }
  }
  watermarks done;
  {
    std::lock_guard lock(mu_);
    --r->writing;
    f->bytes = {};  // freed here; the round itself goes once written
    pop_written(done);
    if (owner_waits_) idle_.notify_one();
  }
  advance(done);
}

void log_materializer::helper() {
  std::unique_lock lock(mu_);
  for (;;) {
    round* r = nullptr;
    file* f = nullptr;
    bool got = false;
    while (!stopping_ && !(got = take(r, f))) {
      helper_waits_ = true;
      wake_.wait(lock);
      helper_waits_ = false;
    }
    if (!got) return;
    lock.unlock();
    write(r, f);
    lock.lock();
  }
}

}  // namespace brood::spooler

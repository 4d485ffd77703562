// log_materializer: the log server's thread that writes the committed tasks' spool files.
#include "log_materializer.hpp"

#include <set>
#include <utility>

#include "task_log.hpp"

namespace brood::spooler {

log_materializer::~log_materializer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void log_materializer::push(round r) {
  if (r.files.empty() && r.last.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    wake = waiting_;
  }
  // A busy thread takes the round when it is done with its own: no futex call per round then.
  if (wake) wake_.notify_one();
}

void log_materializer::drain() {
  std::unique_lock lock(mu_);
  while (!queue_.empty() || busy_) {
    draining_ = true;
    idle_.wait(lock);
  }
  draining_ = false;
}

void log_materializer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    while (queue_.empty() && !stopping_) {
      waiting_ = true;
      wake_.wait(lock);
      waiting_ = false;
    }
    if (queue_.empty()) return;  // stopping, and everything queued is written
    std::deque<round> todo = std::move(queue_);
    queue_.clear();
    busy_ = true;
    lock.unlock();
    for (round& r : todo) write(r);
    todo.clear();  // the bytes are freed off the lock
    lock.lock();
    busy_ = false;
    if (queue_.empty() && draining_) idle_.notify_all();
  }
}

// Writes a round's files (temp + rename, no fsync), then lets each log's checkpoint pass them. A
// file that cannot be written breaks its log: the task is acknowledged and its record durable,
// so its segment must stay active until a recovery writes the file (the next start's), and no
// new task is taken meanwhile.
void log_materializer::write(round& r) {
  std::set<std::size_t> failed;
  for (file& f : r.files) {
    task_log* log = logs_(f.dir);
    if (!log || failed.count(f.dir)) continue;
    if (os::status s = log->materialize(f.path, f.bytes); !s.ok()) {
      failed.insert(f.dir);
      log->fail(os::status(s.code(), "cannot write the spool file of the acknowledged task " +
                                         f.path +
                                         " (its next recovery writes it): " + s.message()));
    }
  }
  for (const auto& [d, last] : r.last) {
    if (failed.count(d)) continue;
    if (task_log* log = logs_(d)) log->materialized_through(last);
  }
}

}  // namespace brood::spooler

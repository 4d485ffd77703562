#pragma once
// The log server's second thread (log_server.hpp): it writes the spool files of the tasks the
// log thread committed and answered (op 2 and op 3, temp + rename, no fsync), round after round
// in the order handed over, then advances each log's "files written" watermark
// (task_log::materialized_through). The log thread goes back to its next round (reading, staging,
// the next commit, the answers) while this one writes: the two proceed on both vCPUs, and a
// round's files no longer wait behind its answers nor the next round's behind its files.
//
// Ordering: a file is handed over only after the commit covering its task (the spooler never
// sees a file before its task is durable); a round's watermark only after every earlier round's
// files and its own were written. A file that cannot be written breaks its log (task_log::fail:
// its task is acknowledged, so its segment stays active until a recovery writes the file).
// Memory: what is queued is bounded by the log itself (a segment switch waits for the checkpoint
// of the other segment, which waits for this watermark): at most about a segment and a half of
// file bytes per log.
// Thread-safety: push() and drain() from one thread (the log thread); the thread starts at the
// first push() (so it inherits that thread's signal mask), the destructor writes what is queued
// and joins it. Processes: as the log server's (a forked child never touches it).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "log_server.hpp"

namespace brood::spooler {

class log_materializer {
 public:
  struct file {
    std::size_t dir = 0;
    std::string path;  // relative to the dir
    wire::bytes bytes;
  };
  // One round of the log thread: its files to write (in order) and, per dir it staged records
  // in, the highest seq staged (every file_later record up to it is in `files` or will never be
  // acknowledged).
  struct round {
    std::vector<file> files;
    std::map<std::size_t, std::uint64_t> last;
  };

  explicit log_materializer(log_server::log_source logs) : logs_(std::move(logs)) {}
  ~log_materializer();
  log_materializer(const log_materializer&) = delete;
  log_materializer& operator=(const log_materializer&) = delete;

  // Queues a round (empty rounds with no watermark are dropped).
  void push(round r);
  // Waits until every round pushed so far is written.
  void drain();

 private:
  void run();
  void write(round& r);

  log_server::log_source logs_;
  std::mutex mu_;
  std::condition_variable wake_;  // the thread: a round queued, or stopping
  std::condition_variable idle_;  // drain(): the queue emptied
  std::deque<round> queue_;
  bool waiting_ = false;  // the thread waits on wake_ (push notifies only then)
  bool busy_ = false;     // the thread writes a round taken off the queue
  bool draining_ = false;  // drain() waits on idle_ (the thread notifies only then)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace brood::spooler

#pragma once
// The spool files of the tasks the log thread committed and answered (op 2 and op 3,
// log_server.hpp), written by the log thread itself or, while it is busy with the next round, by
// a helper thread: the two share one queue of rounds, file by file, and neither ever waits for
// the other. The log thread queues a round's files after its answers and wakes the helper only
// when it starts a new round with files still queued (the helper then writes them while the
// next commit syncs, on the other vCPU); before answering the next round, and whenever it has
// nothing to read, the log thread writes what is still queued itself. So at most one answered
// round's files wait at any time, and a lone producer's round trip takes no hand-off at all.
//
// Ordering: a file is queued only after the commit covering its task (the spooler never sees a
// file before its task is durable). A log's "files written" watermark (materialized_through)
// advances over a round only once that round's files and every earlier round's are written. A
// file that cannot be written breaks its log (task_log::fail: its task is acknowledged, so its
// segment stays active until a recovery writes the file).
// Thread-safety: queue(), wake_helper() and write_queued() from the log thread only; the helper
// thread starts at the first wake_helper() (it inherits that thread's signal mask); the
// destructor writes what is queued and joins it. Processes: as the log server's (a forked child
// never touches it).
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

  explicit log_materializer(log_server::log_source logs) : logs_(std::move(logs)) {}
  ~log_materializer();
  log_materializer(const log_materializer&) = delete;
  log_materializer& operator=(const log_materializer&) = delete;

  // Queues a round's files, in order, and per dir the highest seq the round staged (every
  // file_later record up to it is in `files` or will never be acknowledged). No wake-up.
  void queue(std::vector<file> files, std::map<std::size_t, std::uint64_t> last);
  // True when queued files wait to be written.
  bool pending() const;
  // Wakes the helper thread if files wait and it sleeps.
  void wake_helper();
  // Writes every queued file the helper has not taken on the calling thread; with
  // `wait_for_helper`, then waits until the helper has written the ones it took (every round
  // queued so far is then written).
  void write_queued(bool wait_for_helper = false);

 private:
  struct round {
    std::vector<file> files;
    std::map<std::size_t, std::uint64_t> last;
    std::size_t next = 0;     // the next file to take
    std::size_t writing = 0;  // taken, not written yet
  };
  using watermarks = std::vector<std::map<std::size_t, std::uint64_t>>;
  // REQUIRES: mu_ held. Takes the next queued file (and its round); false when none is left.
  bool take(round*& r, file*& f);
  // REQUIRES: mu_ held. Pops the written rounds at the front: their watermarks, in order.
  void pop_written(watermarks& done);
  void advance(const watermarks& done);
  void write(round* r, file* f);
  void helper();

  log_server::log_source logs_;
  mutable std::mutex mu_;
  std::condition_variable wake_;   // the helper: files queued, or stopping
  std::condition_variable idle_;   // write_queued(): the helper finished a file
  std::deque<round> rounds_;       // written rounds are popped from the front
  std::size_t waiting_files_ = 0;  // queued, not taken yet
  bool helper_waits_ = false;
  bool owner_waits_ = false;
  bool stopping_ = false;
  std::thread helper_;
};

}  // namespace brood::spooler

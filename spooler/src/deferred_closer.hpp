#pragma once
// Closes file descriptors on a background thread. The last close of a deleted task file frees
// its inode and blocks, and needs a journal handle, which waits while other processes' fsyncs
// keep the journal committing (0.2+ ms per task measured under load); the spooler hands that
// close off and goes on with the next task. The thread is woken once per batch (every
// `batch` descriptors, or by kick() when the owner goes idle), not per descriptor: a wake-up per
// task cost the spooler three futex calls and a context switch per task.
// Thread-safety: close_later() and kick() from one thread (the owner); the destructor closes
// what is still queued and joins the thread.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "brood/os/unique_fd.hpp"

namespace brood::spooler {

class deferred_closer {
 public:
  deferred_closer() = default;
  ~deferred_closer();
  deferred_closer(const deferred_closer&) = delete;
  deferred_closer& operator=(const deferred_closer&) = delete;

  // Queues `fd` to be closed soon. The thread starts on first use (in the process that uses it:
  // safe to construct before a fork).
  void close_later(os::unique_fd fd);
  // Wakes the thread if descriptors wait (the owner is about to wait for new work).
  void kick();

  static constexpr std::size_t batch = 32;

 private:
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<os::unique_fd> queue_;
  bool stopping_ = false;
  bool kicked_ = false;  // the thread is to drain the queue
  std::thread thread_;
};

}  // namespace brood::spooler

#pragma once
// The asynchronous enqueue of an event loop (a node worker's): new tasks go through the node's
// shared task log (spool_store_options::shared_log, docs/spool_format.md §9.7) with no thread
// hand-off and no blocking wait. submit() checks and encodes the task and queues its record on a
// non-blocking connection to the log server; the loop calls on_readable() when fd() is readable,
// which reads the answers and completes the tasks in submission order: success (the task is
// durable) once the commit covering its record is done, never earlier. offer() may send the
// client's connection with the record instead: the log server answers the client itself. The log
// server writes the task's spool file (temp + rename, no fsync) after it has sent the answer, off
// the acknowledgment's path: the file may appear just after the success (docs/spool_format.md
// §9.7). Thread-safety: none; one pipe per event loop thread. Processes: open it in the process
// that uses it (a process forked from the store's owner), after any fork; a child must not use its
// parent's pipe.
#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "brood/os/unique_fd.hpp"
#include "brood/spooler/spool.hpp"
#include "brood/spooler/spool_store.hpp"
#include "brood/wire/bytes.hpp"

namespace brood::spooler {

class spool_pipe {
 public:
  using callback = std::function<void(spool_status)>;

  // Connects to the store's shared log server. Null when this process has none (the store's
  // owner, no server, the server gone): use spool_store::enqueue then. `pid`: this process's.
  static std::unique_ptr<spool_pipe> open(std::shared_ptr<const spool_store> store, pid_t pid);

  // Starts one task. False: the task must go through spool_store::enqueue (it has `at`, it is
  // bigger than a segment, its dir is not logged, or this pipe is broken); `done` is not called.
  // True: `done` is called exactly once: at once for a refused task (a bad request), else from
  // on_readable() or when the connection breaks.
  bool submit(const spool_vars& vars, std::string_view body, callback done);
  // submit(), offering the log server the client's connection `client` too (a connection whose
  // request was read whole; -1: none). handed_over: the task went with the connection (op 3,
  // log_server.hpp): the log server sends the client its answer once the commit covers the task
  // and closes it; the caller closes its own copy at once and answers nothing, `done` is not
  // called. Taken only while no other task of this pipe waits for its answer; otherwise (and
  // when the socket is full) the task is queued as by submit(). no / queued: as submit()'s
  // false / true.
  enum class taken { no, queued, handed_over };
  taken offer(const spool_vars& vars, std::string_view body, int client, callback done);

  int fd() const noexcept { return fd_.get(); }
  bool wants_write() const noexcept { return sent_ < out_.size(); }
  bool waiting() const noexcept { return !pending_.empty(); }
  // False once the connection broke (every waiting task failed): drop the pipe. Its fd stays
  // open until the pipe is destroyed (an event loop may still watch it).
  bool ok() const noexcept { return !broken_; }

  // Reads every answer that arrived (never blocks) and completes their tasks.
  void on_readable();
  // Sends what the socket takes of the queued requests (never blocks).
  void on_writable();

 private:
  struct waiting_task {
    callback done;
    std::string path;  // the task file's absolute path (the master writes it)
  };
  spool_pipe() = default;
  void flush_out();
  void broken(const std::string& why);

  std::shared_ptr<const spool_store> store_;
  std::string server_;
  pid_t pid_ = 0;
  os::unique_fd fd_;
  bool broken_ = false;
  wire::bytes out_;
  std::size_t sent_ = 0;
  wire::bytes in_;
  std::deque<waiting_task> pending_;
};

}  // namespace brood::spooler

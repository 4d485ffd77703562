#pragma once
// Running one claimed task in a spooler process and applying its outcome to the task file
// (brood/spooler/spooler.hpp): ok deletes it; retry, an exception or a crash rewrites it durably
// with brood_attempt + 1, brood_last_error and mtime = now + backoff, or moves it to failed/
// after max_attempts; ignore keeps it; a corrupt file moves to quarantine/. Every outcome is
// applied while the claim's lock is held. Not thread-safe; lives in one spooler process.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "brood/spooler/config.hpp"
#include "brood/spooler/spool.hpp"
#include "brood/spooler/spool_store.hpp"
#include "brood/spooler/spooler.hpp"
#include "deferred_closer.hpp"
#include "spool_claim.hpp"

namespace brood::spooler {

// The delay before attempt `failed_attempt` + 1: min(retry_delay * 2^(n-1), retry_max_delay).
std::chrono::milliseconds retry_backoff(const spooler_config& cfg, unsigned failed_attempt);

// `vars` with brood_attempt = `next_attempt` and brood_last_error = `error` (replacing the
// values already there, else appended).
spool_vars with_attempt(const spool_vars& vars, unsigned next_attempt, const std::string& error);

class spool_task_runner {
 public:
  using time_point = std::chrono::system_clock::time_point;
  enum class outcome {
    done,     // deleted
    retry,    // rewritten: due again at `due` (also when the rewrite failed: retry then anyway)
    failed,   // moved to failed/
    ignored,  // kept, untouched
    fatal,    // the file could not be deleted: the process must end (as uWSGI)
  };
  struct result {
    outcome what = outcome::done;
    time_point due;
  };

  // `dir`: the realpath of the spooler dir of `slot`. Everything passed must outlive the runner.
  spool_task_runner(const spooler_config& cfg, const spool_store& store, spooler_board& board,
                    std::size_t slot, const spool_handler& handler, std::string dir);

  // Runs claimed task `c` (REQUIRES: c.status == claim_status::claimed): marks it running on
  // the board (with the harakiri deadline), chdirs to spooler-chdir, calls the handler, applies
  // the outcome, releases the lock.
  result run(spool_claim& c);
  // The spooler is about to wait for new tasks: the closes queued meanwhile start now.
  void idle() { closer_.kick(); }
  // Done tasks whose files are still to be set aside (see run, which wrote their done records):
  // retire_done() takes the `at_most` oldest out of the dir (pool or unlink). false: a
  // file could not be deleted, the process must end (as uWSGI). Call it when no task is due,
  // when too many wait, and for all of them before a scan or an exit.
  bool retire_done(std::size_t at_most = SIZE_MAX);
  std::size_t done_waiting() const noexcept { return done_.size(); }
  // Whether run() leaves done tasks for retire_done (true by default) or sets each aside at once.
  // A process that shares its dir must not hold them: the others would find them busy when
  // they take its share (a failed claim, and close events to every process, per task).
  void defer_done(bool defer) noexcept { defer_ = defer; }
  // At the start of a process: the tasks its dead predecessor ran to success but had not set
  // aside (spooler_board::done) are set aside now, not run again.
  void recover_done();
  // A task whose attempt failed (`error` says why): rewrite with backoff, or failed/.
  result record_failure(spool_claim& c, const std::string& error);
  // A corrupt task file: logged and moved to quarantine/.
  void quarantine(spool_claim& c);
  // "[spooler DIR pid: P]", the start of every task log line.
  const std::string& prefix() const noexcept { return prefix_; }

 private:
  int call_handler(const spool_task& task, std::string& error);
  result apply(spool_claim& c, int code, const std::string& error);
  std::string_view name_in_dir(std::string_view path) const;  // "" when not under dir_
  void enter_task_dir();
  void leave_task_dir();

  const spooler_config& cfg_;
  const spool_store& store_;
  spooler_board& board_;
  std::size_t slot_;
  const spool_handler& handler_;
  std::string dir_;
  std::string prefix_;
  deferred_closer closer_;  // the last close of a deleted task file, off the task path
  // Done tasks not retired yet: their paths and claims' fds (each still holds its lock).
  std::deque<std::pair<std::string, os::unique_fd>> done_;
  bool defer_ = true;
};

}  // namespace brood::spooler

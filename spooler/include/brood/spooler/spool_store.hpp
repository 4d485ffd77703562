#pragma once
// Writing spool files durably (docs/spool_format.md): every write goes to a temp file in the
// target directory (".brood_tmp_*", never picked up by a scanner), is fsync'ed, renamed to its
// uwsgi_spoolfile_on_* name, and the directory is fsync'ed; only then does the call return
// success. On any failure the temp file is removed: nothing half-written is ever left behind.
// Thread-safety: a store is immutable after construction; its calls may run concurrently from
// any thread or process.
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "brood/spooler/config.hpp"
#include "brood/spooler/spool.hpp"
#include "brood/wire/bytes.hpp"

namespace brood::spooler {

enum class spool_errc {
  no_spooler = 1,   // the node has no spooler dir
  unknown_spooler,  // the `spooler` var names no configured dir
  bad_request,      // malformed vars block, a bad `priority` (not digits) or `at` (not a number)
  too_big,          // the vars block (with brood's checksum) over 65535 bytes
  write_failed,     // the OS refused a step (ENOSPC, EROFS, EACCES, ...)
};
const std::error_category& spool_category() noexcept;
std::error_code make_error_code(spool_errc e) noexcept;

// The outcome of a store call: ok, or an error with a message naming what was wrong and where
// ("cannot write /var/spool/x/.brood_tmp_...: No space left on device").
struct spool_status {
  std::error_code error;
  std::string message;
  std::string path;  // success of enqueue: the task file's absolute path
  explicit operator bool() const noexcept { return !error; }
};

class task_log;

// How a store writes new tasks (docs/spool_format.md, "The task log").
struct spool_store_options {
  // The first `logged_dirs` dirs (the spooler dirs, whose brood spooler processes write done
  // records) take new tasks through a group-committed task log: the spool file is written
  // without its own fsync and the task is acknowledged once a log commit covers it. The other
  // dirs (spooler-external: another node's spooler, maybe uWSGI's, consumes them) and tasks
  // with `at` (the file's mtime is their due time) are written durably file by file.
  std::size_t logged_dirs = std::numeric_limits<std::size_t>::max();
  std::uint64_t log_segment_size = 4 << 20;  // spooler-log-size: bytes of each log segment
  // One log per dir for the whole node: the constructing process (the master, before it forks)
  // opens the logs of the logged dirs now and serves them to the processes it forks, whose
  // enqueue() sends the task's record there and writes the file meanwhile; one commit then
  // covers the tasks of every process (docs/spool_format.md §9). Without it, or when the
  // server is gone, each process opens a log of its own.
  bool shared_log = false;
  // Destroying the store closes its logs cleanly: every spool file made durable (syncfs) and
  // their segments marked clean, so that no recovery reads them again. false: they are left as a
  // killed process leaves them (tests of recovery).
  bool checkpoint_logs_at_close = true;
  // spooler-log-max-age: a log segment whose first task record is this old is checkpointed, full
  // or not (zero: only when full; docs/spool_format.md §9).
  std::chrono::milliseconds log_max_age{2000};

  // A node's store: its spooler and spooler-external dirs (in that order) as `cfg` sets them.
  static spool_store_options of(const spooler_config& cfg, bool shared_log);
};

// The task logs of one dir as the node's stats show them. The counters add up every process
// forked from the one that made the node's first store (an anonymous shared mapping made then).
struct spool_log_stats {
  std::uint64_t segments = 0;    // segment files in DIR/.brood_log (two per slot)
  std::uint64_t pending = 0;     // task files waiting in DIR and its priority subdirs
  std::uint64_t tasks = 0;       // task records committed
  std::uint64_t dones = 0;       // done records written
  std::uint64_t commits = 0;     // group commits (fdatasyncs)
  std::uint64_t last_batch = 0;  // records in the last commit (of any process)
  std::uint64_t max_batch = 0;   // most records in one commit
};

class spool_store {
 public:
  // `dirs`: every dir this process may write (spooler dirs then spooler-external dirs); the first
  // is the default target. Each is created (mode 0750) if missing and stored as its realpath.
  // Throws std::system_error naming the dir when one cannot be created or resolved.
  // Task logs are opened lazily, one per dir and process (a forked child opens its own).
  explicit spool_store(const std::vector<std::string>& dirs, spool_store_options opts = {});

  const std::vector<std::string>& dirs() const noexcept { return dirs_; }

  // Durably writes one new task (through the dir's task log, see spool_store_options). The dir: the
  // `spooler` var (exact realpath match) or the default; `priority` (digits) puts it in
  // DIR/<priority>/ (created 0750); `at` (unix time, fraction cut) becomes the file's mtime. The
  // vars are written as given (special keys kept).
  spool_status enqueue(const spool_vars& vars, std::string_view body) const;

  // Durably replaces the task file at `path` (same name, via temp + rename) with `vars` and
  // `body`, its mtime set to `not_before` (a retry's due time). Used after a failed attempt.
  spool_status rewrite(const std::string& path, const spool_vars& vars, std::string_view body,
                       std::chrono::system_clock::time_point not_before) const;

  // Moves the task file at `path` into `<its spooler dir>/<subdir>/` (created 0750), e.g.
  // "failed" or "quarantine", keeping its name; the directories are fsync'ed. A logged dir's
  // task log gets a done record for `path` (recovery must not bring the task back).
  spool_status move_aside(const std::string& path, std::string_view subdir) const;

  // The task file at `path` ran and was removed by the caller: appends a done record to this
  // process's task log of its dir (not synced: a lost one can only cause a re-run). Failures
  // are logged.
  void task_done(const std::string& path) const;

  // Opens this process's task log of `dir` (one of dirs()) now if it is logged, first
  // recovering every slot no live writer holds (a spooler process's start, before its first
  // scan: tasks acknowledged but lost at a crash are written again). Returns a summary line
  // ("" when the dir is not logged); a failure is logged and new tasks are then written
  // durably file by file.
  std::string recover(const std::string& dir) const;

  // The stats of the task logs of `dir` (counters: see spool_log_stats). Reads the dir.
  static spool_log_stats log_stats(const std::string& dir);

  // For spool_pipe (an event loop's asynchronous enqueue through the node's shared log): the
  // name of the log server this process may use ("" in the server's own process, without a
  // server, or when no dir is logged).
  std::string shared_server() const;
  // A task checked and encoded as enqueue() does, ready for the shared log.
  struct shared_task {
    std::size_t dir_index = 0;  // of the logged dir (in dirs())
    std::string dir;            // the file's dir (the logged dir or its priority subdir)
    std::string name;           // its uwsgi_spoolfile_on_* name
    std::string rel_path;       // its path relative to the logged dir
    wire::bytes file;           // its bytes
  };
  // enqueue()'s checks and encoding, named with `pid` (the caller's). An error: the task is
  // refused. Success with `out` empty: the task must go through enqueue() (`at`, bigger than a
  // segment, a dir that is not logged).
  spool_status prepare_shared(const spool_vars& vars, std::string_view body, pid_t pid,
                              std::optional<shared_task>& out) const;

  // The spooler dir (one of dirs()) that `path` lies in (directly or in a priority subdir).
  std::optional<std::string> dir_of(const std::string& path) const;

 private:
  struct logs;
  bool logged(const std::string& dir) const;
  // This process's log of `dir`, opened if needed; null when `dir` is not logged or its log
  // cannot be opened.
  task_log* log_of(const std::string& dir, bool recover_unlocked = false,
                   std::string* summary = nullptr) const;
  void start_server();
  void start_server_threads();
  // Adds what `log` did since the last call to the shared counters of `dir`.
  void publish(const std::string& dir, task_log& log) const;
  static void publish_into(logs& l, const std::string& dir, task_log& log);
  std::vector<std::string> dirs_;
  spool_store_options opts_;
  std::shared_ptr<logs> logs_;  // this process's task logs (copies of a store share them)
};

}  // namespace brood::spooler

template <>
struct std::is_error_code_enum<brood::spooler::spool_errc> : std::true_type {};

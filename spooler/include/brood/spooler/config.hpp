#pragma once
// The spooler's options, filled by the CLI from options and ini files.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace brood::spooler {

// The spooler options (docs/uwsgi-compat.md §3.6, docs/config.md). Empty dirs and external_dirs: no
// spooler; modifier1 17 is then answered with the failure reply.
struct spooler_config {
  std::vector<std::string> dirs;           // spooler / -Q DIR (repeatable): processes run here
  std::vector<std::string> external_dirs;  // spooler-external DIR: writable, no process
  unsigned processes = 1;                  // spooler-processes: processes per dir
  // spooler-frequency / spooler-freq: the full rescan period. brood also wakes at once on a new
  // file (inotify, SIGUSR1) and at the due time of the earliest `at`/retry it knows of.
  std::chrono::seconds frequency{30};
  bool ordered = false;              // spooler-ordered: run tasks in file-name (version) order
  unsigned max_tasks = 0;            // spooler-max-tasks: a process exits after N tasks (0: never)
  std::chrono::seconds harakiri{0};  // spooler-harakiri: SIGKILL a task running longer (0: off)
  std::string chdir;                 // spooler-chdir: working directory while a task runs
  bool quiet = false;                // spooler-quiet: no per-task log lines
  // brood: a task that failed this many attempts moves to DIR/failed/ (0: retry forever).
  unsigned max_attempts = 10;  // spooler-max-attempts
  // brood: the retry delay after attempt n is min(retry_delay * 2^(n-1), retry_max_delay).
  std::chrono::milliseconds retry_delay{1000};        // spooler-retry-delay (ms)
  std::chrono::milliseconds retry_max_delay{300000};  // spooler-retry-max-delay (ms)
  // brood: bytes of each segment of a spooler dir's task log (docs/spool_format.md §9).
  std::uint64_t log_size = 4 << 20;  // spooler-log-size
  // brood: a task log segment is checkpointed once its first task record is this old (0: only
  // when full).
  std::chrono::milliseconds log_max_age{2000};  // spooler-log-max-age (ms)
  // brood, not an option: with several processes on a dir, each takes its own share of the files
  // first and another's once it has waited this long past its due time (spool_share).
  std::chrono::milliseconds steal_after{5};

  bool any() const noexcept { return !dirs.empty() || !external_dirs.empty(); }
};

}  // namespace brood::spooler

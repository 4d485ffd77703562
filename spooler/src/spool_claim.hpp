#pragma once
// Claiming one task file for a run (brood/spooler/spooler.hpp): open it, take a non-blocking OFD
// write lock on the whole file (it conflicts with uWSGI's fcntl locks and with every other
// spooler process, so a task never runs twice at the same time), check the path still names the
// locked, linked file and that it is due, then read and decode it. The lock lives as long as the
// returned fd: the caller deletes, rewrites or moves the file before closing it.
#include <sys/stat.h>

#include <chrono>
#include <string>

#include "brood/os/unique_fd.hpp"
#include "brood/spooler/spool.hpp"

namespace brood::spooler {

enum class claim_status {
  claimed,  // locked, checked and decoded: `task` is valid
  gone,     // no such file any more, unlinked or replaced meanwhile, or not a regular file
  busy,     // another process holds its lock (running it, or a uWSGI writer still writing it)
  not_due,  // its mtime is after `now` (an `at` or a retry backoff), or a short file younger
            // than 10 s (maybe still being written): look again at `due`
  corrupt,  // torn or corrupt (`why` says how): still locked, for the quarantine
  failed,   // the OS refused to open or read it (`why`)
};

struct spool_claim {
  claim_status status = claim_status::gone;
  os::unique_fd fd;  // holds the lock (claimed, corrupt)
  spool_task task;   // claimed: the task; otherwise path, name and dir only
  std::string why;   // corrupt, failed
  std::chrono::system_clock::time_point due;  // not_due
  bool torn = false;  // not_due because the file is short and young (maybe still being written)
  std::chrono::system_clock::time_point mtime;  // claimed: the file's mtime (its due time)
  bool dated_ahead = false;  // claimed: its mtime is after its ctime (an `at`, a retry backoff)
};

// `dir`: the spooler dir the file belongs to (realpath). Never throws on bad file contents.
spool_claim claim_spool_file(const std::string& path, const std::string& dir,
                             std::chrono::system_clock::time_point now);

// A file's mtime as a time point.
std::chrono::system_clock::time_point mtime_of(const struct stat& st) noexcept;

}  // namespace brood::spooler

#pragma once
// Watches a spooler dir and its priority subdirs for task files that appear (inotify): a file
// renamed into place (brood's writers, IN_MOVED_TO), a file closed after writing (uWSGI's
// writers, IN_CLOSE_WRITE), and new priority subdirs (IN_CREATE / IN_MOVED_TO of a directory in
// the dir). Not thread-safe.
#include <cstdint>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "brood/os/unique_fd.hpp"

namespace brood::spooler {

class dir_watch {
 public:
  struct event {
    enum class kind {
      task,      // a task file appeared at `path` (priority `rank`)
      subdir,    // a priority subdir appeared at `path` (priority `rank`); not yet watched
      overflow,  // events were lost: rescan everything
    };
    kind what = kind::task;
    std::string path;
    std::uint64_t rank = 0;
  };

  // Opens a non-blocking inotify instance watching `dir`. On failure error() is set, fd() is -1
  // and the spooler falls back to its periodic scans.
  explicit dir_watch(const std::string& dir);

  std::error_code error() const noexcept { return error_; }
  int fd() const noexcept { return fd_.get(); }

  // Watches the priority subdir `path` too (idempotent). false: it could not be watched.
  bool watch_subdir(const std::string& path, std::uint64_t rank);

  // The events pending now (empty when none); never blocks.
  std::vector<event> read_events();

 private:
  struct watched {
    std::string path;
    std::uint64_t rank = 0;
    bool root = false;
  };
  void decode(const char* buf, std::size_t len, std::vector<event>& out);

  os::unique_fd fd_;
  std::error_code error_;
  std::map<int, watched> watches_;  // by watch descriptor
};

}  // namespace brood::spooler

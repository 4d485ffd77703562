#pragma once
// Watches a spooler dir and its priority subdirs for task files that appear (an os inotify
// watcher): a file renamed into place (brood's writers, IN_MOVED_TO), a file closed after writing
// (uWSGI's writers, IN_CLOSE_WRITE), and new priority subdirs (IN_CREATE / IN_MOVED_TO of a
// directory in the dir). What is a task file and what is a priority subdir is the spooler's
// knowledge (spool_scan.hpp). Move-only; not thread-safe.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "brood/os/inotify.hpp"
#include "brood/os/status.hpp"

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
    // task only: the file was closed after writing and not renamed into place. Every claim
    // attempt (open for writing, close) makes one of those, also on a file another spooler
    // process holds (spooler_process ignores them for the files it found busy).
    bool closed = false;
  };

  // Watches `dir`. Errors: os::inotify_watcher's ("cannot open inotify: ...", "cannot watch DIR:
  // ..."); the spooler then falls back to its periodic scans.
  static os::result<dir_watch> open(const std::string& dir);

  // Empty: fd() is -1, watches nothing, never has events.
  dir_watch() = default;

  int fd() const noexcept { return inotify_.fd(); }

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
  void interpret(const os::inotify_watcher::event& e, std::vector<event>& out);

  os::inotify_watcher inotify_;
  std::map<int, watched> watches_;  // by watch descriptor
};

}  // namespace brood::spooler

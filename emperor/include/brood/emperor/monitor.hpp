#pragma once
// Finds the vassal files of the `emperor` sources (docs/uwsgi-compat.md §4.1) and reports what
// changed since the previous scan. A source naming one existing directory is a "dir" monitor
// (vassal names are the file names, paths are DIR/NAME); anything else is a glob pattern (names are
// the glob results as given). Valid vassal files end in .ini (and .xml .yml .yaml .js .json, which
// brood cannot parse: their vassals exit with a config error) and are shorter than 255 characters;
// on-demand companion files (emperor-on-demand-extension) are never vassals. Files are stat()ed
// (symlinks followed).
// inotify wakes the emperor at once when a watched directory changes: scan_events() then looks at
// the files the events name only (a full scan() when events were lost); scan() lists every
// source, and the emperor also calls it every emperor-freq seconds. Not thread-safe.
#include <ctime>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "brood/os/inotify.hpp"

namespace brood::emperor {

struct vassal_file {
  std::string name;     // unique key of the vassal
  std::string path;     // what the vassal is started with (`--ini PATH`)
  std::string monitor;  // the source it came from (stats "monitor")
  std::time_t mtime = 0;
  // The on-demand socket address when the vassal is on demand (emperor-on-demand-*), else "".
  std::string on_demand;
  // Fork server attributes (docs/uwsgi-compat.md §17.2), read from .ini files only when the
  // emperor uses a fork server, when the file is added or changed:
  //   fork_server: the value of emperor-fork-server-attr NAME in the file's [emperor] section
  //   serves: the base's own socket, `fork-server` (or `fork-socket`) of its [uwsgi] section
  std::string fork_server;
  std::string serves;
};

struct scan_changes {
  std::vector<vassal_file> added;    // not seen by the previous scan
  std::vector<vassal_file> changed;  // mtime greater than the recorded one, or on_demand changed
  std::vector<std::string> removed;  // names seen by the previous scan and gone now
};

class vassal_monitor {
 public:
  // `on_demand_extension` / `on_demand_directory`: emperor_config's. Opens a non-blocking
  // inotify fd watching every directory that holds (or may hold) vassal files of the sources;
  // when inotify cannot be used, fd() is -1, it is logged once and the periodic scans remain.
  // `fork_attrs`: read the fork server attributes of .ini files, `fork_server_attr` naming the
  // [emperor] attribute ("" : only `serves` is read).
  vassal_monitor(std::vector<std::string> sources, std::string on_demand_extension,
                 std::string on_demand_directory, bool fork_attrs = false,
                 std::string fork_server_attr = {});

  // -1 when inotify is not available. Readable when a watched directory changed.
  int fd() const noexcept { return inotify_.fd(); }
  // Empties the inotify fd (call when it is readable, then scan()).
  void drain() noexcept;

  // Reads the pending inotify events and returns what changed among the vassal files they name
  // (a companion file's event concerns its vassal): each named file is stat()ed again, nothing
  // else is listed. A full scan() instead when the queue overflowed (events were lost), when an
  // event concerns a watched directory itself (deleted, moved) or a watch not known here.
  scan_changes scan_events();

  // Lists every source now and returns the difference with the previous scan (the first scan
  // reports every file as added). A source that cannot be read is logged and counts as empty.
  scan_changes scan();

 private:
  std::vector<std::string> sources_;
  std::string on_demand_extension_;
  std::string on_demand_directory_;
  bool fork_attrs_ = false;
  std::string fork_server_attr_;
  struct known_file {
    vassal_file file;
    // st_mtim.tv_nsec at the last scan: two writes within one second still count as a change
    // (vassal_file::mtime keeps whole seconds).
    long mtime_nsec = 0;
  };
  // Adds to `changes` what `f` (found now with `mtime_nsec`; on_demand not filled in yet) is
  // against `old`, its record of the previous scan or nullptr: added, changed or neither. Fills
  // in on_demand and the fork attributes (read again from an added or modified file).
  void compare(vassal_file& f, long mtime_nsec, const known_file* old, scan_changes& changes) const;
  // The names of the vassals the event (`wd`, entry `name`) can concern, appended to `out`.
  void names_of_event(int wd, const std::string& name, std::vector<std::string>& out) const;

  std::vector<known_file> known_;  // by name, sorted
  struct watch {
    int wd = -1;
    std::size_t source = 0;  // index in sources_
    bool dir = false;        // the source is the directory watched (else a glob in it)
  };
  std::vector<watch> watches_;
  std::set<std::string> reported_;  // sources whose failure was logged (logged once)
  os::inotify_watcher inotify_;     // empty when inotify cannot be used
};

// True when `file_name` has a vassal extension (.ini .xml .yml .yaml .js .json) and is shorter
// than 255 characters.
bool is_vassal_name(const std::string& file_name);

}  // namespace brood::emperor

// vassal_monitor: the scan diff and the inotify wake-ups (see monitor.hpp).
#include "brood/emperor/monitor.hpp"

#include <sys/inotify.h>

#include <algorithm>
#include <cstring>

#include "brood/os/log.hpp"
#include "monitor_scan.hpp"
#include "vassal_attrs.hpp"

namespace brood::emperor {
namespace {

constexpr std::uint32_t watch_mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
                                     IN_CLOSE_WRITE | IN_ATTRIB | IN_MODIFY | IN_ONLYDIR;

constexpr std::size_t max_vassal_name = 255;

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

bool is_vassal_name(const std::string& file_name) {
  if (file_name.size() >= max_vassal_name) return false;
  for (const char* ext : {".ini", ".xml", ".yml", ".yaml", ".js", ".json"})
    if (ends_with(file_name, ext)) return true;
  return false;
}

vassal_monitor::vassal_monitor(std::vector<std::string> sources, std::string on_demand_extension,
                               std::string on_demand_directory, bool fork_attrs,
                               std::string fork_server_attr)
    : sources_(std::move(sources)),
      on_demand_extension_(std::move(on_demand_extension)),
      on_demand_directory_(std::move(on_demand_directory)),
      fork_attrs_(fork_attrs),
      fork_server_attr_(std::move(fork_server_attr)) {
  auto inotify = os::inotify_watcher::open();
  if (!inotify) {
    os::log("emperor: inotify unavailable (", inotify.error().code().message(),
            "): vassal files are only rescanned periodically");
    return;
  }
  inotify_ = std::move(*inotify);
  for (const auto& source : sources_) {
    const std::string dir = watch_dir_of(source);
    if (dir.empty()) {
      os::log("emperor: ", source, " has wildcards in its directory part: only rescanned ",
              "periodically");
    } else if (auto wd = inotify_.add(dir, watch_mask); !wd) {
      os::log("emperor: cannot watch ", dir, " (", wd.error().code().message(),
              "): only rescanned periodically");
    }
  }
}

void vassal_monitor::drain() noexcept { inotify_.drain(); }

scan_changes vassal_monitor::scan() {
  std::vector<found_vassal> found;
  for (const auto& source : sources_) {
    std::string why;
    if (list_source(source, on_demand_extension_, found, why)) {
      reported_.erase(source);
    } else if (reported_.insert(source).second) {
      os::log("emperor: ", why);
    }
  }
  // By name; the first source listing a name wins.
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.file.name < b.file.name; });
  found.erase(std::unique(found.begin(), found.end(),
                          [](const auto& a, const auto& b) { return a.file.name == b.file.name; }),
              found.end());

  scan_changes changes;
  std::vector<known_file> now;
  auto old = known_.begin();
  for (auto& f : found) {
    f.file.on_demand =
        on_demand_address(f.file.path, f.file.name, on_demand_extension_, on_demand_directory_);
    for (; old != known_.end() && old->file.name < f.file.name; ++old)
      changes.removed.push_back(old->file.name);
    if (old == known_.end() || old->file.name != f.file.name) {
      if (fork_attrs_) read_fork_attrs(fork_server_attr_, f.file);
      changes.added.push_back(f.file);
    } else {
      const bool modified = old->file.mtime != f.file.mtime || old->mtime_nsec != f.mtime_nsec;
      if (modified && fork_attrs_) {
        read_fork_attrs(fork_server_attr_, f.file);
      } else {
        f.file.fork_server = old->file.fork_server;
        f.file.serves = old->file.serves;
      }
      if (modified || old->file.on_demand != f.file.on_demand) changes.changed.push_back(f.file);
      ++old;
    }
    now.push_back({std::move(f.file), f.mtime_nsec});
  }
  for (; old != known_.end(); ++old) changes.removed.push_back(old->file.name);
  known_ = std::move(now);
  return changes;
}

}  // namespace brood::emperor

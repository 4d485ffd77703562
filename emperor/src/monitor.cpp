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
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const std::string& source = sources_[i];
    const std::string dir = watch_dir_of(source);
    if (dir.empty()) {
      os::log("emperor: ", source, " has wildcards in its directory part: only rescanned ",
              "periodically");
    } else if (auto wd = inotify_.add(dir, watch_mask); !wd) {
      os::log("emperor: cannot watch ", dir, " (", wd.error().code().message(),
              "): only rescanned periodically");
    } else {
      watches_.push_back({*wd, i, dir == source});
    }
  }
}

void vassal_monitor::drain() noexcept { inotify_.drain(); }

void vassal_monitor::compare(vassal_file& f, long mtime_nsec, const known_file* old,
                             scan_changes& changes) const {
  f.on_demand = on_demand_address(f.path, f.name, on_demand_extension_, on_demand_directory_);
  if (!old) {
    if (fork_attrs_) read_fork_attrs(fork_server_attr_, f);
    changes.added.push_back(f);
    return;
  }
  const bool modified = old->file.mtime != f.mtime || old->mtime_nsec != mtime_nsec;
  if (modified && fork_attrs_) {
    read_fork_attrs(fork_server_attr_, f);
  } else {
    f.fork_server = old->file.fork_server;
    f.serves = old->file.serves;
  }
  if (modified || old->file.on_demand != f.on_demand) changes.changed.push_back(f);
}

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
    for (; old != known_.end() && old->file.name < f.file.name; ++old)
      changes.removed.push_back(old->file.name);
    const bool seen = old != known_.end() && old->file.name == f.file.name;
    compare(f.file, f.mtime_nsec, seen ? &*old : nullptr, changes);
    if (seen) ++old;
    now.push_back({std::move(f.file), f.mtime_nsec});
  }
  for (; old != known_.end(); ++old) changes.removed.push_back(old->file.name);
  known_ = std::move(now);
  return changes;
}

}  // namespace brood::emperor

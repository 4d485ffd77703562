// vassal_monitor::scan_events: the vassal files that inotify events name, looked at one by one
// instead of listing every source (see monitor.hpp).
#include <sys/inotify.h>

#include <algorithm>

#include "brood/emperor/monitor.hpp"
#include "monitor_scan.hpp"

namespace brood::emperor {

void vassal_monitor::names_of_event(int wd, const std::string& name,
                                    std::vector<std::string>& out) const {
  // A companion file NAME+EXT concerns the vassal NAME (its on-demand address).
  std::string entry = name;
  const std::string& ext = on_demand_extension_;
  if (!ext.empty() && entry.size() > ext.size() &&
      entry.compare(entry.size() - ext.size(), ext.size(), ext) == 0)
    entry.resize(entry.size() - ext.size());
  if (!is_vassal_name(entry)) return;
  for (const watch& w : watches_) {
    if (w.wd != wd) continue;
    if (w.dir) {
      out.push_back(entry);
      continue;
    }
    // A glob's matches are named as glob(3) names them: the pattern's directory part + entry.
    const std::string& pattern = sources_[w.source];
    const auto slash = pattern.rfind('/');
    out.push_back(slash == std::string::npos ? entry : pattern.substr(0, slash + 1) + entry);
  }
}

scan_changes vassal_monitor::scan_events() {
  std::vector<std::string> names;
  for (const os::inotify_watcher::event& e : inotify_.read_events()) {
    const bool known =
        std::any_of(watches_.begin(), watches_.end(), [&](const watch& w) { return w.wd == e.wd; });
    if ((e.mask & IN_Q_OVERFLOW) || !known || e.name.empty()) {
      inotify_.drain();  // the full scan covers whatever is still queued
      return scan();
    }
    names_of_event(e.wd, e.name, names);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  scan_changes changes;
  for (const std::string& name : names) {
    auto old =
        std::lower_bound(known_.begin(), known_.end(), name,
                         [](const known_file& k, const std::string& n) { return k.file.name < n; });
    const bool seen = old != known_.end() && old->file.name == name;
    found_vassal f;
    bool listed = false;  // the first source listing the name wins, as in scan()
    for (const std::string& source : sources_)
      if ((listed = find_listed(source, on_demand_extension_, name, f))) break;
    if (!listed) {
      if (seen) {
        changes.removed.push_back(name);
        known_.erase(old);
      }
      continue;
    }
    compare(f.file, f.mtime_nsec, seen ? &*old : nullptr, changes);
    if (seen)
      *old = {std::move(f.file), f.mtime_nsec};
    else
      known_.insert(old, {std::move(f.file), f.mtime_nsec});
  }
  return changes;
}

}  // namespace brood::emperor

#include "dir_watch.hpp"

#include <sys/inotify.h>

#include "spool_queue.hpp"
#include "spool_scan.hpp"

namespace brood::spooler {
namespace {

constexpr std::uint32_t file_events = IN_MOVED_TO | IN_CLOSE_WRITE;
constexpr std::uint32_t root_events = file_events | IN_CREATE | IN_ONLYDIR;

}  // namespace

os::result<dir_watch> dir_watch::open(const std::string& dir) {
  auto inotify = os::inotify_watcher::open();
  if (!inotify) return inotify.error();
  auto wd = inotify->add(dir, root_events);
  if (!wd) return wd.error();
  dir_watch out;
  out.inotify_ = std::move(*inotify);
  out.watches_[*wd] = {dir, spool_queue::root_rank, true};
  return out;
}

bool dir_watch::watch_subdir(const std::string& path, std::uint64_t rank) {
  if (!inotify_) return false;
  auto wd = inotify_.add(path, file_events | IN_ONLYDIR);
  if (!wd) return false;
  watches_[*wd] = {path, rank, false};  // adding twice returns the same wd
  return true;
}

std::vector<dir_watch::event> dir_watch::read_events() {
  std::vector<event> out;
  for (const os::inotify_watcher::event& e : inotify_.read_events()) interpret(e, out);
  return out;
}

void dir_watch::interpret(const os::inotify_watcher::event& e, std::vector<event>& out) {
  if (e.mask & IN_Q_OVERFLOW) {
    out.push_back({event::kind::overflow, {}, 0});
    return;
  }
  auto it = watches_.find(e.wd);
  if (it == watches_.end()) return;
  if (e.mask & IN_IGNORED) {  // the watched dir is gone
    watches_.erase(it);
    return;
  }
  if (e.name.empty()) return;
  const watched& w = it->second;
  if (e.mask & IN_ISDIR) {
    auto rank = priority_rank(e.name);
    if (w.root && rank && (e.mask & (IN_CREATE | IN_MOVED_TO)))
      out.push_back({event::kind::subdir, w.path + "/" + e.name, *rank});
  } else if ((e.mask & file_events) && is_task_name(e.name)) {
    out.push_back({event::kind::task, w.path + "/" + e.name, w.rank, (e.mask & IN_MOVED_TO) == 0});
  }
}

}  // namespace brood::spooler

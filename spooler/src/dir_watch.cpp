#include "dir_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spool_queue.hpp"
#include "spool_scan.hpp"

namespace brood::spooler {
namespace {

constexpr std::uint32_t file_events = IN_MOVED_TO | IN_CLOSE_WRITE;
constexpr std::uint32_t root_events = file_events | IN_CREATE | IN_ONLYDIR;

}  // namespace

dir_watch::dir_watch(const std::string& dir) {
  fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd_) {
    error_ = {errno, std::system_category()};
    return;
  }
  const int wd = ::inotify_add_watch(fd_.get(), dir.c_str(), root_events);
  if (wd < 0) {
    error_ = {errno, std::system_category()};
    fd_.reset();
    return;
  }
  watches_[wd] = {dir, spool_queue::root_rank, true};
}

bool dir_watch::watch_subdir(const std::string& path, std::uint64_t rank) {
  if (!fd_) return false;
  const int wd = ::inotify_add_watch(fd_.get(), path.c_str(), file_events | IN_ONLYDIR);
  if (wd < 0) return false;
  watches_[wd] = {path, rank, false};  // adding twice returns the same wd
  return true;
}

std::vector<dir_watch::event> dir_watch::read_events() {
  std::vector<event> out;
  if (!fd_) return out;
  alignas(inotify_event) char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;  // EAGAIN: nothing more
    decode(buf, static_cast<std::size_t>(n), out);
  }
}

void dir_watch::decode(const char* buf, std::size_t len, std::vector<event>& out) {
  for (std::size_t at = 0; at + sizeof(inotify_event) <= len;) {
    inotify_event ev;
    std::memcpy(&ev, buf + at, sizeof ev);
    const char* name = buf + at + sizeof(inotify_event);
    at += sizeof(inotify_event) + ev.len;
    if (ev.mask & IN_Q_OVERFLOW) {
      out.push_back({event::kind::overflow, {}, 0});
      continue;
    }
    auto it = watches_.find(ev.wd);
    if (it == watches_.end()) continue;
    if (ev.mask & IN_IGNORED) {  // the watched dir is gone
      watches_.erase(it);
      continue;
    }
    if (ev.len == 0) continue;
    const std::string file(name);  // NUL-padded
    const watched& w = it->second;
    if (ev.mask & IN_ISDIR) {
      auto rank = priority_rank(file);
      if (w.root && rank && (ev.mask & (IN_CREATE | IN_MOVED_TO)))
        out.push_back({event::kind::subdir, w.path + "/" + file, *rank});
    } else if ((ev.mask & file_events) && is_task_name(file)) {
      out.push_back({event::kind::task, w.path + "/" + file, w.rank});
    }
  }
}

}  // namespace brood::spooler

// inotify_watcher: inotify_init1 / inotify_add_watch / read, decoded into events.
#include "brood/os/inotify.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace brood::os {
namespace {

constexpr std::size_t read_buffer = 16384;

// Appends the events of one read(2) to `out`.
void decode(const char* buf, std::size_t len, std::vector<inotify_watcher::event>& out) {
  for (std::size_t at = 0; at + sizeof(inotify_event) <= len;) {
    inotify_event ev;
    std::memcpy(&ev, buf + at, sizeof ev);
    const char* name = buf + at + sizeof(inotify_event);
    at += sizeof(inotify_event) + ev.len;
    inotify_watcher::event e;
    e.wd = ev.wd;
    e.mask = ev.mask;
    if (ev.len > 0) e.name = std::string(name, ::strnlen(name, ev.len));  // NUL-padded
    out.push_back(std::move(e));
  }
}

}  // namespace

result<inotify_watcher> inotify_watcher::open() {
  unique_fd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return status::last_errno("cannot open inotify");
  return inotify_watcher(std::move(fd));
}

result<int> inotify_watcher::add(const std::string& path, std::uint32_t mask) {
  const int wd = fd_ ? ::inotify_add_watch(fd_.get(), path.c_str(), mask) : -1;
  if (wd < 0) return status::from_errno(fd_ ? errno : EBADF, "cannot watch " + path);
  return wd;
}

std::vector<inotify_watcher::event> inotify_watcher::read_events() {
  std::vector<event> out;
  if (!fd_) return out;
  alignas(inotify_event) char buf[read_buffer];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;  // EAGAIN: nothing more
    decode(buf, static_cast<std::size_t>(n), out);
  }
}

void inotify_watcher::drain() noexcept {
  if (!fd_) return;
  alignas(inotify_event) char buf[read_buffer];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: empty
  }
}

}  // namespace brood::os

#include "touch_watch.hpp"

#include <sys/stat.h>

namespace brood::node {
namespace {

bool same(const std::optional<timespec>& a, const std::optional<timespec>& b) {
  if (!a || !b) return !a && !b;
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

}  // namespace

touch_watch::touch_watch(std::vector<std::string> files) {
  for (std::string& f : files) {
    auto m = mtime_of(f);
    files_.push_back({std::move(f), m});
  }
}

std::optional<timespec> touch_watch::mtime_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_mtim;
}

std::optional<std::string> touch_watch::changed() {
  std::optional<std::string> first;
  for (file& f : files_) {
    auto now = mtime_of(f.path);
    if (!same(now, f.mtime) && !first) first = f.path;
    f.mtime = now;
  }
  return first;
}

}  // namespace brood::node

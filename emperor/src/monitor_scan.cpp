// Listing one `emperor` source: the dir and glob monitors (see monitor_scan.hpp).
#include "monitor_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace brood::emperor {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A companion file NAME.ini+EXT of an on-demand vassal.
bool is_companion(const std::string& name, const std::string& extension) {
  return !extension.empty() && ends_with(name, extension) &&
         is_vassal_name(name.substr(0, name.size() - extension.size()));
}

// Adds `path` when it is a regular file (symlinks followed).
void add_if_regular(std::string name, std::string path, const std::string& source,
                    std::vector<found_vassal>& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  found_vassal f;
  f.file.name = std::move(name);
  f.file.path = std::move(path);
  f.file.monitor = source;
  f.file.mtime = st.st_mtim.tv_sec;
  f.mtime_nsec = st.st_mtim.tv_nsec;
  out.push_back(std::move(f));
}

bool list_dir(const std::string& source, const std::string& extension,
              std::vector<found_vassal>& out, std::string& why) {
  std::string dir = source;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    why = "cannot read the directory " + dir + ": " + std::strerror(errno);
    return false;
  }
  const std::string prefix = dir == "/" ? dir : dir + "/";
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (!is_vassal_name(name) || is_companion(name, extension)) continue;
    add_if_regular(name, prefix + name, source, out);
  }
  return true;
}

bool list_glob(const std::string& pattern, const std::string& extension,
               std::vector<found_vassal>& out, std::string& why) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    why = "cannot expand the pattern " + pattern + (rc == GLOB_NOSPACE ? ": out of memory" : "");
    ::globfree(&g);
    return false;
  }
  for (std::size_t i = 0; i < g.gl_pathc; ++i) {
    const std::string match = g.gl_pathv[i];
    if (!is_vassal_name(match) || is_companion(match, extension)) continue;
    add_if_regular(match, match, pattern, out);
  }
  ::globfree(&g);
  return true;
}

// Reads the first `limit` bytes of `path` into `out`; false when it cannot be opened.
bool read_head(const std::string& path, std::string& out, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  out.assign(limit, '\0');
  std::size_t got = 0;
  while (got < limit) {
    const ssize_t n = ::read(fd, out.data() + got, limit - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return true;
}

constexpr std::size_t max_address_file = 4096;

}  // namespace

bool list_source(const std::string& source, const std::string& on_demand_extension,
                 std::vector<found_vassal>& out, std::string& why) {
  if (is_directory(source)) return list_dir(source, on_demand_extension, out, why);
  return list_glob(source, on_demand_extension, out, why);
}

bool find_listed(const std::string& source, const std::string& on_demand_extension,
                 const std::string& name, found_vassal& out) {
  std::vector<found_vassal> found;
  if (is_directory(source)) {
    if (name.find('/') != std::string::npos || !is_vassal_name(name) ||
        is_companion(name, on_demand_extension))
      return false;
    std::string dir = source;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    add_if_regular(name, (dir == "/" ? dir : dir + "/") + name, source, found);
  } else {
    // glob(3) without flags matches as fnmatch(3) with FNM_PATHNAME | FNM_PERIOD does.
    if (!is_vassal_name(name) || is_companion(name, on_demand_extension) ||
        ::fnmatch(source.c_str(), name.c_str(), FNM_PATHNAME | FNM_PERIOD) != 0)
      return false;
    add_if_regular(name, name, source, found);
  }
  if (found.empty()) return false;
  out = std::move(found.front());
  return true;
}

std::string on_demand_address(const std::string& path, const std::string& name,
                              const std::string& extension, const std::string& directory) {
  std::string text;
  if (!extension.empty() && read_head(path + extension, text, max_address_file)) {
    std::size_t end = 0;
    while (end < text.size() && static_cast<unsigned char>(text[end]) >= 0x20) ++end;
    text.resize(end);
    if (!text.empty()) return text;
  }
  if (directory.empty()) return {};
  std::string base = name.substr(name.rfind('/') + 1);  // npos + 1 == 0
  if (auto dot = base.rfind('.'); dot != std::string::npos) base.resize(dot);
  std::string dir = directory;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/" + base + ".socket";
}

std::string watch_dir_of(const std::string& source) {
  if (is_directory(source)) return source;
  const auto slash = source.rfind('/');
  std::string dir = slash == std::string::npos ? "." : source.substr(0, slash == 0 ? 1 : slash);
  if (dir.find_first_of("*?[") != std::string::npos) return {};
  return dir;
}

}  // namespace brood::emperor

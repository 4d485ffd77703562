#include "spool_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <memory>
#include <string_view>

#include "brood/wire/spool_file.hpp"
#include "spool_claim.hpp"
#include "spool_name.hpp"
#include "spool_queue.hpp"

namespace brood::spooler {
namespace {

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using dir_handle = std::unique_ptr<DIR, dir_closer>;

enum class entry_kind { task, priority_dir, stale_temp, other };

// A writer's temp file (docs/spool_format.md) is renamed within milliseconds; one whose inode
// has not changed for this long was left by a writer killed mid-write and is removed.
constexpr time_t stale_temp_age_s = 600;

bool is_stale_temp(const char* name, const struct stat& st) {
  return std::string_view(name).starts_with(spool_temp_prefix) && S_ISREG(st.st_mode) &&
         st.st_ctime + stale_temp_age_s < ::time(nullptr);
}

// Classifies one directory entry; fills `st` for tasks and priority dirs.
entry_kind classify(int dir_fd, const char* name, bool in_root, struct stat& st) {
  const bool task = is_task_name(name);
  const bool prio = in_root && priority_rank(name).has_value();
  const bool temp = std::string_view(name).starts_with(spool_temp_prefix);
  if (!task && !prio && !temp) return entry_kind::other;
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return entry_kind::other;
  if (temp) return is_stale_temp(name, st) ? entry_kind::stale_temp : entry_kind::other;
  if (task && S_ISREG(st.st_mode)) return entry_kind::task;
  if (prio && S_ISDIR(st.st_mode)) return entry_kind::priority_dir;
  return entry_kind::other;
}

// Lists one directory; priority subdirs are collected only when `in_root`.
void list(const std::string& dir, std::uint64_t rank, bool in_root, scan_result& out) {
  dir_handle d(::opendir(dir.c_str()));
  if (!d) {
    out.error = "cannot read " + dir + ": " + std::strerror(errno);
    return;
  }
  const int fd = ::dirfd(d.get());
  while (const dirent* e = ::readdir(d.get())) {
    struct stat st = {};
    switch (classify(fd, e->d_name, in_root, st)) {
      case entry_kind::task:
        out.files.push_back({dir + "/" + e->d_name, rank, mtime_of(st)});
        break;
      case entry_kind::priority_dir:
        out.subdirs.push_back({dir + "/" + e->d_name, *priority_rank(e->d_name)});
        break;
      case entry_kind::stale_temp:
        if (::unlinkat(fd, e->d_name, 0) == 0) out.removed_temps.push_back(dir + "/" + e->d_name);
        break;
      case entry_kind::other:
        break;
    }
  }
}

}  // namespace

bool is_task_name(std::string_view name) noexcept {
  return name.starts_with(wire::spool_file_prefix);
}

std::optional<std::uint64_t> priority_rank(std::string_view name) noexcept {
  if (name.empty()) return std::nullopt;
  for (char c : name)
    if (c < '0' || c > '9') return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec == std::errc::result_out_of_range) return spool_queue::root_rank - 1;
  if (end != name.data() + name.size()) return std::nullopt;
  return std::min(n, spool_queue::root_rank - 1);
}

scan_result scan_spool_dir(const std::string& dir) {
  scan_result out;
  list(dir, spool_queue::root_rank, true, out);
  for (const scanned_dir& sub : out.subdirs) list(sub.path, sub.rank, false, out);
  return out;
}

void scan_files(const std::string& dir, std::uint64_t rank, scan_result& out) {
  list(dir, rank, false, out);
}

}  // namespace brood::spooler

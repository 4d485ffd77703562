// file_pool: done task files reused for new tasks (no inode allocated per task).
#include "file_pool.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "process_id.hpp"

namespace brood::spooler {
namespace {

// After the pool was found empty, this many files are created anew before it is listed again
// (a listing costs an opendir and a getdents).
constexpr unsigned relist_after = 32;
constexpr char pool_prefix = 'r';

}  // namespace

std::string pool_dir_of(const std::string& spool_dir) {
  return spool_dir + "/" + std::string(pool_dir_name);
}

file_pool::file_pool(log_env& env, const std::string& spool_dir)
    : env_(env), dir_(pool_dir_of(spool_dir)) {}

std::string file_pool::take_name() {
  std::lock_guard lock(mu_);
  if (names_.empty()) {
    if (misses_ > 0 && misses_ < relist_after) {
      ++misses_;
      return {};
    }
    misses_ = 1;
    auto listed = env_.list_dir(dir_);
    if (!listed) return {};
    for (std::string& n : *listed)
      if (!n.empty() && n[0] == pool_prefix) names_.push_back(std::move(n));
    if (names_.empty()) return {};
    misses_ = 0;
  }
  std::string n = std::move(names_.back());
  names_.pop_back();
  return n;
}

os::status file_pool::write_file(const std::string& dir, const std::string& temp_name,
                                 const std::string& final_name, wire::bytes_view data) {
  for (int tries = 0; tries < 4 && data.size() <= pool_max_file; ++tries) {
    const std::string name = take_name();
    if (name.empty()) break;
    os::status s = env_.reuse_file(dir_ + "/" + name, dir, temp_name, final_name, data);
    if (s.ok()) reused_.fetch_add(1, std::memory_order_relaxed);
    if (s.code().value() != ENOENT) return s;  // written, or failed after taking the file
  }
  return env_.write_file(dir, temp_name, final_name, data);
}

retired retire_done_file(const std::string& spool_dir, const std::string& path, int fd) {
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
      st.st_uid == ::geteuid() && static_cast<std::uint64_t>(st.st_size) <= pool_max_file) {
    // Per process, from a pid-derived start: the spooler processes of a dir mostly fill
    // different names.
    static std::atomic<unsigned> next{static_cast<unsigned>(current_pid()) * 97u};
    char name[16];
    std::snprintf(name, sizeof name, "%c%u", pool_prefix, next.fetch_add(1) % pool_slots);
    const std::string target = pool_dir_of(spool_dir) + "/" + name;
    if (::rename(path.c_str(), target.c_str()) == 0) return {true, 0};
    // ENOENT: no pool (a dir without a task log), or the file is gone (the unlink says which).
  }
  return {false, ::unlink(path.c_str()) == 0 ? 0 : errno};
}

}  // namespace brood::spooler

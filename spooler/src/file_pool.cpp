// file_pool: done task files reused for new tasks (no inode allocated per task).
#include "file_pool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

#include "process_id.hpp"

namespace brood::spooler {
namespace {

// The writer asks the ripener for more when fewer names are ripe, at most once per this many
// writes (a round lists the pool and fsyncs one or two directories).
constexpr std::size_t pool_low_water = 64;
constexpr unsigned pool_ask_every = 32;

// Files the ripener makes itself when too few are ripe (named "n.PID.N": never a task's, so
// ripe at once), at most this many per round.
constexpr std::size_t pool_make_max = 128;
constexpr std::string_view made_source = "n";

// "SUBDIR.PID.N": the subdir part ("_" or digits, or made_source), or nullopt for a name not
// made by pool_name.
std::optional<std::string> pool_source(std::string_view name) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  const std::string_view sub = name.substr(0, dot);
  if (sub == "_") return std::string();
  if (sub == made_source) return std::string(made_source);
  for (const char c : sub)
    if (c < '0' || c > '9') return std::nullopt;
  return std::string(sub);
}

}  // namespace

std::string pool_dir_of(const std::string& spool_dir) {
  return spool_dir + "/" + std::string(pool_dir_name);
}

std::string pool_name(std::string_view subdir, unsigned long pid, std::uint64_t n) {
  return (subdir.empty() ? std::string("_") : std::string(subdir)) + "." + std::to_string(pid) +
         "." + std::to_string(n);
}

file_pool::file_pool(log_env& env, const std::string& spool_dir)
    : env_(env), spool_dir_(spool_dir), dir_(pool_dir_of(spool_dir)) {}

file_pool::~file_pool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (ripener_.joinable()) ripener_.join();
}

std::uint64_t file_pool::reused() const {
  std::lock_guard lock(mu_);
  return reused_;
}

std::string file_pool::take_name() {
  std::lock_guard lock(mu_);
  if (!ripener_.joinable()) ripener_ = std::thread([this] { ripen(); });
  if (ripe_.size() < pool_low_water && !asked_ && ++since_ask_ >= pool_ask_every) {
    since_ask_ = 0;
    asked_ = true;
    cv_.notify_all();
  }
  if (ripe_.empty()) return {};
  std::string n = std::move(ripe_.front());
  ripe_.pop_front();
  known_.erase(n);
  return n;
}

os::status file_pool::write_file(const std::string& dir, const std::string& temp_name,
                                 const std::string& final_name, wire::bytes_view data) {
  for (int tries = 0; tries < 4 && data.size() <= pool_max_file; ++tries) {
    const std::string name = take_name();
    if (name.empty()) break;
    os::status s = env_.reuse_file(dir_ + "/" + name, dir, temp_name, final_name, data);
    if (s.ok()) {
      std::lock_guard lock(mu_);
      ++reused_;
    }
    if (s.code().value() != ENOENT) return s;  // written, or failed after taking the file
  }
  return env_.write_file(dir, temp_name, final_name, data);
}

void file_pool::ripen() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return asked_ || stopping_; });
      if (stopping_) return;
    }
    const bool more = ripen_once();
    std::lock_guard lock(mu_);
    asked_ = false;
    if (!more) return;
  }
}

// Lists the pool, makes the removal of the listed files from their directories durable (their
// directories fsynced), then hands their names to the writer; the excess past pool_max_files
// is removed.
bool file_pool::ripen_once() {
  auto names = env_.list_dir(dir_);
  if (!names) return true;
  std::set<std::string> sources;
  std::vector<std::string> fresh, excess;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    std::size_t held = ripe_.size();
    for (std::string& n : *names) {
      const auto src = pool_source(n);
      if (!src || known_.count(n)) continue;
      if (held++ >= pool_max_files) {
        excess.push_back(std::move(n));
        continue;
      }
      if (*src != made_source) sources.insert(*src);
      fresh.push_back(std::move(n));
    }
  }
  for (const std::string& n : excess) (void)env_.remove_file(dir_ + "/" + n);
  for (const std::string& sub : sources) {
    const std::string d = sub.empty() ? spool_dir_ : spool_dir_ + "/" + sub;
    if (os::status s = env_.sync_dir(d); !s.ok() && s.code().value() != ENOENT) return true;
  }
  std::size_t ripe = 0;
  {
    std::lock_guard lock(mu_);
    for (std::string& n : fresh) {
      if (known_.insert(n).second) ripe_.push_back(std::move(n));
    }
    ripe = ripe_.size();
  }
  // Too few done files (the spooler is behind, or just started): new empty files, made here
  // rather than on the writer's thread (an inode allocation is the cost this pool avoids there).
  for (std::size_t i = ripe; i < pool_make_max; ++i) {
    const std::string n =
        pool_name(made_source, static_cast<unsigned long>(current_pid()), made_++);
    if (!env_.write_file(dir_, n, n, {}).ok()) break;
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    if (known_.insert(n).second) ripe_.push_back(n);
  }
  std::lock_guard lock(mu_);
  return !stopping_;
}

namespace {

// The effective uid, read once per process (a spooler process does not change it while it runs
// tasks; one geteuid(2) per done task otherwise).
uid_t pool_euid() {
  static std::atomic<pid_t> read_in{0};
  static std::atomic<uid_t> euid{0};
  if (read_in.load(std::memory_order_acquire) != current_pid()) {
    euid.store(::geteuid(), std::memory_order_relaxed);
    read_in.store(current_pid(), std::memory_order_release);
  }
  return euid.load(std::memory_order_relaxed);
}

}  // namespace

retired retire_done_file(const std::string& spool_dir, const std::string& path, int fd) {
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
      st.st_uid == pool_euid() && static_cast<std::uint64_t>(st.st_size) <= pool_max_file) {
    // The priority subdir the file is in ("" for the dir itself).
    std::string_view sub;
    if (path.size() > spool_dir.size() + 1 && path.compare(0, spool_dir.size(), spool_dir) == 0 &&
        path[spool_dir.size()] == '/') {
      const std::string_view rel = std::string_view(path).substr(spool_dir.size() + 1);
      const auto slash = rel.find('/');
      if (slash != std::string_view::npos) sub = rel.substr(0, slash);
    }
    // This process's names and its view of how full the pool is (counted now and then).
    static std::atomic<std::uint64_t> next{0};
    static std::atomic<unsigned> since_count{0};
    static std::atomic<bool> full{false};
    if (since_count.fetch_add(1, std::memory_order_relaxed) % 256 == 0) {
      std::size_t n = 0;
      if (std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(pool_dir_of(spool_dir).c_str()),
                                                &::closedir);
          d) {
        while (::readdir(d.get())) ++n;
      }
      full.store(n > pool_max_files + 2, std::memory_order_relaxed);
    }
    for (int tries = 0; tries < 3 && !full.load(std::memory_order_relaxed); ++tries) {
      const std::string target = pool_dir_of(spool_dir) + "/" +
                                 pool_name(sub, static_cast<unsigned long>(current_pid()), next++);
      if (::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0)
        return {true, 0};
      if (errno != EEXIST) break;  // ENOENT: no pool (a dir without a task log), or file gone
    }
  }
  return {false, ::unlink(path.c_str()) == 0 ? 0 : errno};
}

}  // namespace brood::spooler

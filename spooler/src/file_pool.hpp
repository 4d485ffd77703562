#pragma once
// Reused inodes for spool files (docs/spool_format.md §9.8, "The file pool").
//
// Each task is a file, created by the node and removed by the spooler once done. On this
// machine's ext4 (no journal) a new inode's allocation checks every free inode of its group for
// a recent deletion (find_inode_bit -> recently_deleted) and skips those deleted in the last
// minute: with the spooler removing a file per task, each creation scanned past thousands of
// them (measured: 215 µs per create after 4,000 creates and deletes, 32 µs to reuse a file;
// 22 % of the log thread's CPU in one profile). So a spooler sets a done task's file aside in
// DIR/.brood_pool (at most pool_slots names, r0 ... r255: a rename over a taken name removes the
// file it replaces) instead of removing it, and the node's writer of spool files takes one from
// there, overwrites it and renames it to the new task's name: no inode is allocated or freed.
//
// Safety: a pooled file is renamed out of the task's name before its claim's lock is released
// (no spooler can claim it again under its old name); the writer moves it to a name of its own
// (a temp name) before writing it, so two writers never share one. Its content is not synced, as
// a new file's is not: after a power cut the new name may show the old content, which recovery
// finds (the file differs from its record) and writes again. The pool holds only regular files
// with one link, owned by the spooler's user, of at most pool_max_file bytes.
// Thread-safety: file_pool's members may be called from any thread.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "log_env.hpp"

namespace brood::spooler {

constexpr std::string_view pool_dir_name = ".brood_pool";
constexpr unsigned pool_slots = 256;
constexpr std::uint64_t pool_max_file = 64 * 1024;

std::string pool_dir_of(const std::string& spool_dir);

// The writer's side, one per spool dir (task_log's).
class file_pool {
 public:
  file_pool(log_env& env, const std::string& spool_dir);
  // As env.write_file(dir, temp_name, final_name, data), on a pooled file when there is one.
  os::status write_file(const std::string& dir, const std::string& temp_name,
                        const std::string& final_name, wire::bytes_view data);
  // Files written on a pooled file so far.
  std::uint64_t reused() const noexcept { return reused_.load(std::memory_order_relaxed); }

 private:
  // The next pooled name to try, or "" (the pool looked empty: a new file).
  std::string take_name();

  log_env& env_;
  const std::string dir_;  // the pool's
  std::mutex mu_;
  std::vector<std::string> names_;  // listed, not tried yet
  unsigned misses_ = 0;             // new files since the pool was listed empty
  std::atomic<std::uint64_t> reused_{0};
};

// The spooler's side: sets the done task file `path` (open as `fd`, which holds its claim's
// lock) aside in the pool of `spool_dir`, or removes it when it cannot be pooled (no pool: a
// dir without a task log; not a plain file of this user; too big).
struct retired {
  bool pooled = false;  // renamed into the pool (else removed)
  int err = 0;          // the errno of the failed removal (ENOENT: the file was gone already)
};
retired retire_done_file(const std::string& spool_dir, const std::string& path, int fd);

}  // namespace brood::spooler

#pragma once
// Reused inodes for spool files (docs/spool_format.md §9.8, "The file pool").
//
// Each task is a file, created by the node and removed by the spooler once done. On this
// machine's ext4 (no journal) a new inode's allocation checks every free inode of its group for
// a recent deletion (find_inode_bit -> recently_deleted) and skips those deleted in the last
// minute: with the spooler removing a file per task, each creation scanned past thousands of
// them (measured: 215 µs per create after 4,000 creates and deletes, 32 µs to reuse a file; 22 %
// of the log thread's CPU in one profile). So a spooler sets a done task's file aside in
// DIR/.brood_pool under a name of its own (pool_name()) instead of removing it, and the node's
// writer of spool files takes one, overwrites it and renames it to a new task's name: no inode
// is allocated or freed.
//
// Safety:
//   * a done file leaves its task's name before its claim's lock is released (no spooler can
//     claim it again), by a rename that never replaces a pooled file;
//   * a pooled file is written only once its removal from its task's directory is durable (the
//     ripener thread lists the pool, fsyncs the directories its files came from, and only then
//     hands their names to the writer): else a power cut could bring the done task's name back
//     over another task's bytes, and that task would run twice;
//   * the writer moves it to a temp name of its own before writing it (two writers never share
//     one) and leaves it alone if it has another link (a name a crash brought back);
//   * its content is not synced, as a new file's is not: after a power cut the new name may
//     show the old bytes, which recovery finds (the file differs from its record) and rewrites.
// When too few are ripe the ripener also makes new empty files there (the inode allocation off
// the writer's thread). The pool holds only regular files with one link, owned by the spooler's
// user, of at most
// pool_max_file bytes, and at most about pool_max_files of them (the spooler removes instead
// past that; the ripener removes the excess).
// Thread-safety: file_pool's members may be called from any thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "log_env.hpp"

namespace brood::spooler {

constexpr std::string_view pool_dir_name = ".brood_pool";
constexpr std::size_t pool_max_files = 512;
constexpr std::uint64_t pool_max_file = 64 * 1024;

std::string pool_dir_of(const std::string& spool_dir);
// The pool name of a done file from the spool dir's priority subdir `subdir` ("" for the dir
// itself), unique per process by `n`: SUBDIR.PID.N, "_" for the dir itself.
std::string pool_name(std::string_view subdir, unsigned long pid, std::uint64_t n);

// The writer's side, one per spool dir (task_log's). Its ripener thread starts at the first
// write (so it inherits that thread's signal mask).
class file_pool {
 public:
  file_pool(log_env& env, const std::string& spool_dir);
  ~file_pool();  // stops the ripener
  file_pool(const file_pool&) = delete;
  file_pool& operator=(const file_pool&) = delete;

  // As env.write_file(dir, temp_name, final_name, data), on a ripe pooled file if there is one.
  os::status write_file(const std::string& dir, const std::string& temp_name,
                        const std::string& final_name, wire::bytes_view data);
  // Files written on a pooled file so far.
  std::uint64_t reused() const;

 private:
  std::string take_name();  // a ripe name, or "" (asks the ripener for more)
  void ripen();             // the ripener thread
  bool ripen_once();        // one listing + fsyncs; false once stopping

  log_env& env_;
  const std::string spool_dir_, dir_;  // the spool dir, the pool's
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ripe_;   // names whose old directory entry is durably gone
  std::set<std::string> known_;    // ripe_'s, to list each once
  unsigned since_ask_ = 1u << 30;  // writes since the ripener was last asked (the first asks)
  bool asked_ = false, stopping_ = false;
  std::uint64_t reused_ = 0;
  std::uint64_t made_ = 0;  // the ripener's own new files (names)
  std::thread ripener_;
};

// The spooler's side: sets the done task file `path` (open as `fd`, which holds its claim's
// lock) aside in the pool of `spool_dir`, or removes it when it cannot be pooled (no pool: a
// dir without a task log; not a plain file of this user with one link; too big; pool full).
struct retired {
  bool pooled = false;  // renamed into the pool (else removed)
  int err = 0;          // the errno of the failed removal (ENOENT: the file was gone already)
};
retired retire_done_file(const std::string& spool_dir, const std::string& path, int fd);

}  // namespace brood::spooler

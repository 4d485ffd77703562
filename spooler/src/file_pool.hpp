#pragma once
// Reused inodes for spool files (docs/spool_format.md §9.8, "The file pool").
//
// Each task is a file, created by the node and removed by the spooler once done. On this
// machine's ext4 (no journal) a new inode's allocation checks every free inode of its group for
// a recent deletion (find_inode_bit -> recently_deleted) and skips those deleted in the last
// minute: with the spooler removing a file per task, each creation scanned past thousands of
// them (measured: 215 µs per create after 4,000 creates and deletes, 32 µs to reuse a file; 22 %
// of the log thread's CPU in one profile). So a spooler sets a done task's file aside under a
// hidden name in the spool dir itself (DIR/.brood_pooled.SUBDIR.PID.N: no scanner, brood's or
// uWSGI's, reads it) instead of removing it, and the node's writer of spool files overwrites one
// and renames it to a new task's name: no inode is allocated or freed, and both renames stay in
// one directory (a rename across directories takes both directories' locks and the file
// system's rename mutex, which the spooler's and the log thread's renames then contended on).
// DIR/.brood_pool/ marks a dir whose writer reuses files (the task log makes it); it holds the
// pool's taker lock, and an earlier version's pooled files, which are still reused.
//
// Safety:
//   * a done file leaves its task's name before its claim's lock is released (no spooler can
//     claim it again), by a rename that never replaces a pooled file;
//   * a pooled file is written only once its removal from its task's name is durable (the
//     ripener thread lists the pool, fsyncs the directories its files came from, and only then
//     hands their names to the writer): else a power cut could bring the done task's name back
//     over another task's bytes, and that task would run twice;
//   * only one writer takes pooled files from a dir: the one holding the taker lock
//     (DIR/.brood_pool/taker.lock, an OFD lock its ripener takes); it writes them where they
//     lie, so two writers never share one. A writer without the lock writes new files. An
//     earlier version's pooled file (in DIR/.brood_pool/) is taken by a rename to a temp name of
//     its own, as that version's writers did;
//   * a pooled file with another link (a name a crash brought back) is never written through;
//   * its content is not synced, as a new file's is not: after a power cut the new name may
//     show the old bytes, which recovery finds (the file differs from its record) and rewrites.
// When too few are ripe the ripener also makes new empty files in DIR/.brood_pool/ (the inode
// allocation off the writer's thread and outside the spool dir's lock). The pool holds only regular
// files with one link, owned by the spooler's user, of at most pool_max_file bytes, and at most
// about pool_max_files of them (the spooler removes instead past that; the ripener removes the
// excess). Thread-safety: file_pool's members may be called from any thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "log_env.hpp"

namespace brood::spooler {

constexpr std::string_view pool_dir_name = ".brood_pool";
constexpr std::string_view pooled_prefix = ".brood_pooled.";  // + pool_name(): a pooled file
constexpr std::string_view pool_lock_name = "taker.lock";     // in pool_dir_name
constexpr std::size_t pool_max_files = 512;
constexpr std::uint64_t pool_max_file = 64 * 1024;

std::string pool_dir_of(const std::string& spool_dir);  // DIR/.brood_pool
// The pool name of a done file from the spool dir's priority subdir `subdir` ("" for the dir
// itself), unique per process by `n`: SUBDIR.PID.N, "_" for the dir itself. Its pooled file is
// DIR/ + pooled_prefix + that name (DIR/.brood_pool/ + that name in an earlier version).
std::string pool_name(std::string_view subdir, unsigned long pid, std::uint64_t n);

// The writer's side, one per spool dir (task_log's). Its ripener thread starts at the first
// write (so it inherits that thread's signal mask).
class file_pool {
 public:
  // The taker lock is given up (and the ripe names forgotten) once no file was taken for
  // `idle_release`: a process whose pool served only a recovery (a spooler process's own log)
  // does not keep the dir's pool from the node's master for its whole life.
  file_pool(log_env& env, const std::string& spool_dir,
            std::chrono::milliseconds idle_release = std::chrono::seconds(10));
  ~file_pool();  // stops the ripener
  file_pool(const file_pool&) = delete;
  file_pool& operator=(const file_pool&) = delete;

  // As env.write_file(dir, temp_name, final_name, data), on a ripe pooled file if there is one.
  os::status write_file(const std::string& dir, const std::string& temp_name,
                        const std::string& final_name, wire::bytes_view data);
  // Files written on a pooled file so far.
  std::uint64_t reused() const;

 private:
  std::string take_name();  // a ripe name (relative to the spool dir), or "" (asks for more)
  void ripen();             // the ripener thread
  bool ripen_once();        // one listing + fsyncs; false once stopping
  // The pooled names (relative to the spool dir) in the dir and in an earlier version's pool.
  std::vector<std::string> list_pooled();

  log_env& env_;
  const std::string spool_dir_, dir_;  // the spool dir, the pool's
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const std::chrono::milliseconds idle_release_;
  std::deque<std::string> ripe_;  // names whose old directory entry is durably gone
  std::set<std::string> known_;   // ripe_'s and those being written, to list each once
  unsigned in_flight_ = 0;        // names taken and being written
  std::chrono::steady_clock::time_point last_take_;
  std::unique_ptr<log_lock> taker_;  // the ripener's: the dir's taker lock, once it has it
  std::chrono::steady_clock::time_point next_list_;  // the ripener's: its next listing
  unsigned since_ask_ = 1u << 30;  // writes since the ripener was last asked (the first asks)
  bool asked_ = false, stopping_ = false;
  std::uint64_t reused_ = 0;
  std::uint64_t made_ = 0;  // the ripener's own new files (names)
  std::thread ripener_;
};

// The spooler's side: sets the done task file `path` (open as `fd`, which holds its claim's
// lock) aside in the pool of `spool_dir`, or removes it when it cannot be pooled (no pool: a
// dir without DIR/.brood_pool, i.e. without a task log; not a plain file of this user with one
// link; too big; pool full). Whether the dir has a pool and how full it is are read at the
// first call for a dir and every 256 calls.
struct retired {
  bool pooled = false;  // renamed into the pool (else removed)
  int err = 0;          // the errno of the failed removal (ENOENT: the file was gone already)
};
retired retire_done_file(const std::string& spool_dir, const std::string& path, int fd);

}  // namespace brood::spooler

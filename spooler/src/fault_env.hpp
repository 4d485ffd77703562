#pragma once
// A fault-injecting in-memory log_env for tests (as LevelDB's FaultInjectionTestEnv). It keeps,
// for every file, its current bytes, its synced bytes and the writes made since its last sync,
// and for the namespace, the durable names plus the creations, renames and removals since the
// last sync of their directory. A power cut builds the crash image a real disk could show:
//   * each file is its synced content plus each unsynced write either lost, kept, or torn (a
//     random prefix of it kept), chosen at random per write;
//   * the names are the durable names plus a random prefix (in order) of the pending name
//     changes (a journal commits in order).
// cut_after(n) arms a cut at the n-th following mutating call (pwrite, datasync, write_file,
// remove_file, create_file, make_dir, any sync): from that call on every call fails with EIO
// (the machine is off) until reboot() replaces the state with the crash image (locks dropped).
// inject() makes the next calls of one kind fail with an errno and no effect (ENOSPC, EIO).
// Counters count the calls made. Thread-safe (one mutex).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "log_env.hpp"

namespace brood::spooler {

enum class fault_op { pwrite, datasync, write_file, remove_file, create_file, sync_fs, any };

class fault_env final : public log_env {
 public:
  explicit fault_env(std::uint64_t seed = 1);
  ~fault_env() override;

  // Fault control.
  void cut_after(std::uint64_t mutating_calls);  // 0: the next mutating call finds power off
  void cut_now();
  bool is_off() const;
  void reboot();  // REQUIRES: no log_file or log_lock of this env in use any more
  void inject(fault_op op, int err, int count = 1);
  // Each datasync takes this long (a disk's latency), without holding the env's lock.
  void set_sync_delay(std::chrono::microseconds d);
  // While held, sync_fs calls wait (a slow checkpoint); a cut ends the wait.
  void hold_sync_fs(bool hold);
  std::uint64_t sync_fs_waiting() const;  // sync_fs calls waiting now

  // Counters since construction (not reset by reboot).
  std::uint64_t datasyncs() const;
  std::uint64_t pwrites() const;
  std::uint64_t fs_syncs() const;

  os::status create_file(const std::string& path, std::uint64_t size) override;
  os::result<std::unique_ptr<log_file>> open_file(const std::string& path) override;
  os::status write_file(const std::string& dir, const std::string& temp_name,
                        const std::string& final_name, wire::bytes_view data) override;
  os::status reuse_file(const std::string& reuse, const std::string& dir,
                        const std::string& temp_name, const std::string& final_name,
                        wire::bytes_view data) override;
  std::uint64_t reused_files() const;  // reuse_file calls that took a file
  os::status read_file(const std::string& path, wire::bytes& out) override;
  bool exists(const std::string& path) override;
  os::status remove_file(const std::string& path) override;
  os::result<std::vector<std::string>> list_dir(const std::string& dir) override;
  os::status make_dir(const std::string& path) override;
  os::status sync_file(const std::string& path) override;
  os::status sync_dir(const std::string& dir) override;
  os::status sync_fs(const std::string& dir) override;
  os::result<std::unique_ptr<log_lock>> try_lock(const std::string& path) override;

  struct inode;
  using inode_ptr = std::shared_ptr<inode>;

 private:
  friend class fault_file;
  friend class fault_lock;
  struct name_change {  // one rename, creation or removal, atomic
    std::string dir;
    std::vector<std::pair<std::string, inode_ptr>> set;  // null: removed
  };

  os::status enter(fault_op op, const std::string& what);  // REQUIRES: mu_ held
  void crash();                                            // REQUIRES: mu_ held
  void commit(const name_change& c, std::map<std::string, inode_ptr>& names);
  void change(name_change c);  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::map<std::string, inode_ptr> names_, durable_names_;
  std::set<std::string> dirs_;
  std::vector<name_change> pending_;
  std::map<std::string, std::uint64_t> locks_;
  std::uint64_t lock_tokens_ = 0;
  std::map<fault_op, std::pair<int, int>> injected_;  // op -> (errno, count)
  std::int64_t cut_in_ = -1;                          // mutating calls left before the cut
  bool off_ = false;
  std::map<std::string, inode_ptr> image_names_;  // the crash image, taken at the cut
  std::chrono::microseconds sync_delay_{0};
  bool hold_sync_fs_ = false;
  std::uint64_t sync_fs_waiting_ = 0;
  std::condition_variable hold_cv_;
  std::uint64_t datasyncs_ = 0, pwrites_ = 0, fs_syncs_ = 0, reused_ = 0;
};

}  // namespace brood::spooler

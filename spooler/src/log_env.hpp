#pragma once
// The filesystem calls of the task log (docs/spool_format.md, "The task log"), behind an
// interface so that tests can run the log over a fault-injecting in-memory filesystem
// (fault_env.hpp) as LevelDB's Env does. posix_log_env() is the real one.
//
// Durability contract (what each call promises at a power cut): nothing a call writes is durable
// until a sync covers it. datasync() covers a log_file's pwrites; sync_file() covers a file's
// content; sync_dir() covers the creations, renames and removals of names in that directory;
// sync_fs() covers everything (contents and names) of the filesystem. create_file() is durable
// on its own (content and name). Every failure is an os::status whose code is the errno.
// Thread-safety: an env and a log_file may be used from any number of threads at once.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brood/os/status.hpp"
#include "brood/wire/bytes.hpp"

namespace brood::spooler {

// An open file written at fixed offsets (a log segment).
class log_file {
 public:
  virtual ~log_file() = default;
  // Writes all of `data` at `offset`.
  virtual os::status pwrite(std::uint64_t offset, wire::bytes_view data) = 0;
  // Reads up to `n` bytes at `offset` into `out` (shorter only at the end of the file).
  virtual os::status pread(std::uint64_t offset, std::size_t n, wire::bytes& out) = 0;
  // fdatasync(2): every pwrite made before the call is durable when it returns ok.
  virtual os::status datasync() = 0;
  virtual std::uint64_t size() = 0;
};

// An exclusive lock held while the object lives (an OFD lock on a lock file).
class log_lock {
 public:
  virtual ~log_lock() = default;
};

class log_env {
 public:
  virtual ~log_env() = default;

  // Creates `path` (must not exist) holding `size` zero bytes, syncs it and its directory.
  virtual os::status create_file(const std::string& path, std::uint64_t size) = 0;
  // Opens the existing file `path` for pread/pwrite.
  virtual os::result<std::unique_ptr<log_file>> open_file(const std::string& path) = 0;
  // Writes `data` to `dir`/`temp_name` (created), then renames it to `dir`/`final_name`.
  // NO sync: the content and the name may be lost or torn at a power cut.
  virtual os::status write_file(const std::string& dir, const std::string& temp_name,
                                const std::string& final_name, wire::bytes_view data) = 0;
  // As write_file(), on the existing file `reuse` (a done task's file set aside for reuse,
  // file_pool.hpp) instead of a new one: moves it to `dir`/`temp_name`, overwrites it with
  // `data` (its size set to data's), then renames it to `dir`/`final_name`. NO sync: after a
  // power cut the name may hold the old content, or a mix. Code ENOENT, with nothing written,
  // when `reuse` does not exist or has another link (then only `reuse`'s name is removed).
  virtual os::status reuse_file(const std::string& reuse, const std::string& dir,
                                const std::string& temp_name, const std::string& final_name,
                                wire::bytes_view data) = 0;
  // The whole content of `path`; code ENOENT when it does not exist.
  virtual os::status read_file(const std::string& path, wire::bytes& out) = 0;
  virtual bool exists(const std::string& path) = 0;
  // Removes `path` (not synced). ENOENT when it does not exist.
  virtual os::status remove_file(const std::string& path) = 0;
  // The names in `dir` (no "." or ".."), in no particular order.
  virtual os::result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  // Creates the directory `path` if missing (its parent synced after creating it).
  virtual os::status make_dir(const std::string& path) = 0;
  virtual os::status sync_file(const std::string& path) = 0;
  virtual os::status sync_dir(const std::string& dir) = 0;
  // syncfs(2) on the filesystem holding `dir`.
  virtual os::status sync_fs(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (created if missing) without waiting; code EWOULDBLOCK
  // when another holder (another process or another lock object) has it.
  virtual os::result<std::unique_ptr<log_lock>> try_lock(const std::string& path) = 0;
};

// The real filesystem (POSIX calls, OFD locks). Shared, stateless.
log_env& posix_log_env();

}  // namespace brood::spooler

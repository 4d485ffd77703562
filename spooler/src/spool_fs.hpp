#pragma once
// Private to the spool store: the durable-write primitives of docs/spool_format.md (temp file,
// write-all, fsync, rename, directory fsync). Every function reports the failing step with the
// path and strerror, and removes what it created on failure. Thread-safe (no shared state).
#include <sys/stat.h>

#include <ctime>
#include <string>
#include <string_view>

#include "brood/wire/bytes.hpp"

namespace brood::spooler::spool_fs {

// The outcome of a filesystem step: err 0 on success; else the errno and a message
// "cannot <step> <path>: <strerror>".
struct fs_status {
  int err = 0;
  std::string message;
  explicit operator bool() const noexcept { return err == 0; }
};

fs_status failure(int err, std::string_view step, std::string_view path);

std::string join(std::string_view dir, std::string_view name);
// The text before the last '/' ("" for a bare name, "/" for "/x").
std::string parent_of(std::string_view path);
// The text after the last '/'.
std::string_view name_of(std::string_view path) noexcept;

// Creates `path` with mode 0750 when it is missing (an existing directory is fine); after
// creating it, fsyncs its parent so the new entry survives a crash.
fs_status ensure_dir(const std::string& path);

// fsync(2) of a directory: makes the creations, renames and removals in it durable.
fs_status sync_dir(const std::string& path);

// One durable write: `dir`/`temp_name` is created (O_EXCL, 0600), filled, given `times`
// (atime and mtime; nullptr: leave them), fsync'ed, closed, renamed to `dir`/`final_name`, and
// `dir` is fsync'ed. A failure before the rename removes the temp file. A failure of the final
// directory fsync removes the renamed file too when `remove_on_sync_failure` (a new task that
// will not be acknowledged must not run), and leaves it otherwise (a rewrite: the old content is
// gone already, the new one is complete).
struct durable_file {
  std::string dir;
  std::string temp_name;
  std::string final_name;
  const struct timespec* times = nullptr;  // [atime, mtime]
  bool remove_on_sync_failure = true;
};
fs_status durable_write(const durable_file& f, wire::bytes_view data);

// Renames `from` to `to`, then fsyncs the directory of `to` and, if different, that of `from`.
fs_status durable_move(const std::string& from, const std::string& to);

}  // namespace brood::spooler::spool_fs

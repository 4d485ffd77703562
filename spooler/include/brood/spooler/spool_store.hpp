#pragma once
// Writing spool files durably (docs/spool_format.md): every write goes to a temp file in the
// target directory (".brood_tmp_*", never picked up by a scanner), is fsync'ed, renamed to its
// uwsgi_spoolfile_on_* name, and the directory is fsync'ed; only then does the call return
// success. On any failure the temp file is removed: nothing half-written is ever left behind.
// Thread-safety: a store is immutable after construction; its calls may run concurrently from
// any thread or process.
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "brood/spooler/spool.hpp"

namespace brood::spooler {

enum class spool_errc {
  no_spooler = 1,   // the node has no spooler dir
  unknown_spooler,  // the `spooler` var names no configured dir
  bad_request,      // malformed vars block, a bad `priority` (not digits) or `at` (not a number)
  too_big,          // the vars block (with brood's checksum) over 65535 bytes
  write_failed,     // the OS refused a step (ENOSPC, EROFS, EACCES, ...)
};
const std::error_category& spool_category() noexcept;
std::error_code make_error_code(spool_errc e) noexcept;

// The outcome of a store call: ok, or an error with a message naming what was wrong and where
// ("cannot write /var/spool/x/.brood_tmp_...: No space left on device").
struct spool_status {
  std::error_code error;
  std::string message;
  std::string path;  // success of enqueue: the task file's absolute path
  explicit operator bool() const noexcept { return !error; }
};

class spool_store {
 public:
  // `dirs`: every dir this process may write (spooler dirs then spooler-external dirs); the first
  // is the default target. Each is created (mode 0750) if missing and stored as its realpath.
  // Throws std::system_error naming the dir when one cannot be created or resolved.
  explicit spool_store(const std::vector<std::string>& dirs);

  const std::vector<std::string>& dirs() const noexcept { return dirs_; }

  // Durably writes one new task. The dir: the `spooler` var (exact realpath match) or the
  // default; `priority` (digits) puts it in DIR/<priority>/ (created 0750); `at` (unix time,
  // fraction cut) becomes the file's mtime. The vars are written as given (special keys kept).
  spool_status enqueue(const spool_vars& vars, std::string_view body) const;

  // Durably replaces the task file at `path` (same name, via temp + rename) with `vars` and
  // `body`, its mtime set to `not_before` (a retry's due time). Used after a failed attempt.
  spool_status rewrite(const std::string& path, const spool_vars& vars, std::string_view body,
                       std::chrono::system_clock::time_point not_before) const;

  // Moves the task file at `path` into `<its spooler dir>/<subdir>/` (created 0750), e.g.
  // "failed" or "quarantine", keeping its name; the directories are fsync'ed.
  spool_status move_aside(const std::string& path, std::string_view subdir) const;

  // The spooler dir (one of dirs()) that `path` lies in (directly or in a priority subdir).
  std::optional<std::string> dir_of(const std::string& path) const;

 private:
  std::vector<std::string> dirs_;
};

}  // namespace brood::spooler

template <>
struct std::is_error_code_enum<brood::spooler::spool_errc> : std::true_type {};

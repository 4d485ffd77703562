#pragma once
// Listing a spooler dir: its task files (names starting uwsgi_spoolfile_on_) and its priority
// subdirs (all-digit names) with the task files in them. Temp files (".brood_tmp_*"), failed/,
// quarantine/ and anything else are left out; a temp file unchanged for 10 minutes (its writer
// was killed mid-write) is removed.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brood::spooler {

// True for a task file name.
bool is_task_name(std::string_view name) noexcept;
// The rank of a priority subdir name (its value; all digits), nullopt for any other name.
std::optional<std::uint64_t> priority_rank(std::string_view name) noexcept;

struct scanned_file {
  std::string path;
  std::uint64_t rank = 0;  // spool_queue::root_rank for the dir's own files
  std::chrono::system_clock::time_point mtime;
};
struct scanned_dir {
  std::string path;
  std::uint64_t rank = 0;
};
struct scan_result {
  std::vector<scanned_file> files;
  std::vector<scanned_dir> subdirs;        // the priority subdirs
  std::string error;                       // the dir could not be read (files may be partial)
  std::vector<std::string> removed_temps;  // stale temp files removed by this scan
};

// Lists `dir` and its priority subdirs.
scan_result scan_spool_dir(const std::string& dir);
// Lists the task files of one directory, appending them to `out` with `rank`.
void scan_files(const std::string& dir, std::uint64_t rank, scan_result& out);

}  // namespace brood::spooler

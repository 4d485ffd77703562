#pragma once
// touch-reload: files whose modification time the master checks (every second, as uWSGI does);
// a change (a touch, a write, the file appearing or going) asks for a graceful reload.
// Not thread-safe.
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace brood::node {

class touch_watch {
 public:
  // Records the files' mtimes now (a missing file has none).
  explicit touch_watch(std::vector<std::string> files);

  // The first file whose mtime differs from the one recorded, if any; every file's mtime is
  // recorded again.
  std::optional<std::string> changed();

 private:
  struct file {
    std::string path;
    std::optional<timespec> mtime;
  };
  static std::optional<timespec> mtime_of(const std::string& path);

  std::vector<file> files_;
};

}  // namespace brood::node

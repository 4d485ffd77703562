#pragma once
// Private to fault_env: a file's bytes and what of them is synced, and path helpers.
#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "fault_env.hpp"

namespace brood::spooler {

struct fault_env::inode {
  struct write_op {
    std::uint64_t id;
    std::uint64_t offset;
    wire::bytes bytes;
  };
  wire::bytes data;                // what a reader sees now
  wire::bytes synced;              // what survives a cut for sure
  std::vector<write_op> unsynced;  // writes since the last sync, oldest first
  std::uint64_t writes = 0;        // ids handed out

  void write(std::uint64_t off, wire::bytes_view b) {
    if (data.size() < off + b.size()) data.resize(off + b.size(), 0);
    std::copy(b.begin(), b.end(), data.begin() + static_cast<std::ptrdiff_t>(off));
    unsynced.push_back({++writes, off, wire::bytes(b.begin(), b.end())});
  }
  void sync() {
    synced = data;
    unsynced.clear();
  }
  // Makes the writes up to id `upto` durable (those made before a sync call began).
  void sync_through(std::uint64_t upto) {
    std::size_t n = 0;
    for (; n < unsynced.size() && unsynced[n].id <= upto; ++n) {
      const write_op& w = unsynced[n];
      if (synced.size() < w.offset + w.bytes.size()) synced.resize(w.offset + w.bytes.size(), 0);
      std::copy(w.bytes.begin(), w.bytes.end(),
                synced.begin() + static_cast<std::ptrdiff_t>(w.offset));
    }
    unsynced.erase(unsynced.begin(), unsynced.begin() + static_cast<std::ptrdiff_t>(n));
  }
};

namespace fault_detail {

inline std::string parent(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

inline std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

inline std::string trim(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

inline os::status err(int e, const std::string& what) { return os::status::from_errno(e, what); }

}  // namespace fault_detail
}  // namespace brood::spooler

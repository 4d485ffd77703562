#pragma once
// The task files a spooler process knows of, in the order it runs them (brood/spooler/spooler.hpp):
// lower priority rank first (numeric priority subdirs by value, the dir's own files last), then
// FIFO by due time (the file's mtime), or by file name in version order (spooler-ordered).
// A file is "waiting" until its due time (an `at` or a retry backoff), "ready" afterwards.
// Knowing a file is only a hint: the claim re-checks everything on disk. Not thread-safe.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace brood::spooler {

class spool_queue {
 public:
  using time_point = std::chrono::system_clock::time_point;
  // The rank of the files directly in the spooler dir: after every priority subdir.
  static constexpr std::uint64_t root_rank = UINT64_MAX;

  explicit spool_queue(bool ordered) : ready_(order{ordered}) {}

  // Adds the file at `path` (or updates it when known): priority `rank`, due at `due`.
  // `exact`: `due` is the file's mtime (or a time derived from it); false: an estimate, the time
  // its event was read (a new file's mtime is no later than that unless it was dated ahead).
  void add(const std::string& path, std::uint64_t rank, time_point due, bool exact = true);
  void remove(const std::string& path);
  void clear();
  std::size_t size() const noexcept { return index_.size(); }

  struct popped {
    std::string path;
    std::uint64_t rank = root_rank;
    time_point due;  // the due time it was queued at
  };
  // Removes and returns the first file in run order that is due at `now`; nullopt when none is.
  std::optional<popped> pop_due(time_point now);
  // True when a file due at `now` runs before a file of `rank` due at `due` at `path` would
  // (a file queued at the time its event was read, whose mtime turns out to be later).
  bool ready_before(std::uint64_t rank, time_point due, const std::string& path, time_point now);
  // The files due at `now` queued at an estimate later than `t`: (path, rank) pairs.
  std::vector<std::pair<std::string, std::uint64_t>> estimated_after(time_point t, time_point now);
  // True when a file is due at `now`.
  bool has_due(time_point now) {
    promote(now);
    return !ready_.empty();
  }
  // The earliest due time of the files still waiting; nullopt when none waits.
  std::optional<time_point> next_due() const;

 private:
  struct entry {
    std::uint64_t rank = root_rank;
    time_point due;
    std::string path;
    std::size_t name_at = 0;  // where the file name starts in path
    bool exact = true;        // see add()
  };
  struct order {
    bool by_name = false;
    bool operator()(const entry& a, const entry& b) const;
  };
  using ready_set = std::set<entry, order>;
  using waiting_map = std::multimap<time_point, entry>;
  struct locator {
    bool ready = false;
    ready_set::iterator in_ready;
    waiting_map::iterator in_waiting;
  };

  void promote(time_point now);  // waiting files due by `now` become ready

  ready_set ready_;
  waiting_map waiting_;
  std::unordered_map<std::string, locator> index_;
};

}  // namespace brood::spooler

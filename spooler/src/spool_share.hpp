#pragma once
// Which of a spool dir's task files a spooler process takes first. With N processes on one dir
// (spooler-processes), each file belongs to one of them: FNV-1a of its file name, modulo N. A
// process queues its own files at their due time and the others' `steal_after` later, so that
// the processes stop racing for the head of one queue (each claim the other wins costs an open,
// a lock and a close event to both) and a file still runs when its owner is busy or gone: the
// other processes take it once it has waited that long. Ownership is a hint for the order only:
// the claim's OFD lock still decides who runs a task.
#include <chrono>
#include <cstddef>
#include <string_view>

namespace brood::spooler {

class spooler_board;

class spool_share {
 public:
  using time_point = std::chrono::system_clock::time_point;

  // Share `index` of `count` (0 <= index < count; count >= 1).
  spool_share(std::size_t index, std::size_t count, std::chrono::milliseconds steal_after)
      : index_(index), count_(count == 0 ? 1 : count), steal_after_(steal_after) {}
  // The share of `slot` among the board's slots on the same dir.
  static spool_share of_slot(const spooler_board& board, std::size_t slot,
                             std::chrono::milliseconds steal_after);

  // True when the file at `path` (its name: what follows the last '/') is this share's.
  bool mine(std::string_view path) const noexcept;
  // When this process should take the file at `path` that is due at `due`: `due` for its own,
  // steal_after later for another's, rounded up to a multiple of steal_after since the epoch so
  // that one wake-up looks at every other's file that came in during one such period (a process
  // wakes for each file another runs only to find it gone, at most once per period).
  time_point take_at(std::string_view path, time_point due) const noexcept;
  std::chrono::milliseconds steal_after() const noexcept { return steal_after_; }
  std::size_t count() const noexcept { return count_; }  // processes on the dir

 private:
  std::size_t index_;
  std::size_t count_;
  std::chrono::milliseconds steal_after_;
};

}  // namespace brood::spooler

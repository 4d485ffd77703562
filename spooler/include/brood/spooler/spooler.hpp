#pragma once
// Spooler processes (docs/uwsgi-compat.md §3.5, with brood's delivery rules of
// docs/spool_format.md). The master forks `processes` spooler processes per spooler dir and
// respawns one that dies. A spooler process:
//   - starts a task as soon as its file appears (inotify IN_MOVED_TO / IN_CLOSE_WRITE, SIGUSR1),
//     at its `at` / retry due time (mtime), and rescans everything every spooler-frequency;
//   - runs priority subdirs (numeric names, lower first) before the dir's own files; FIFO by
//     mtime otherwise (also among files learnt of in one batch of events), or by name (version
//     order) with spooler-ordered; looks for new files every 2 ms while tasks run back to back;
//   - claims a file with an OFD write lock (it conflicts with uWSGI's fcntl lock), so a task never
//     runs twice at the same time, and checks the file is still linked before running it;
//   - with several processes on a dir, takes its own share of the files (a hash of the name)
//     first and the others' only once they waited config.steal_after past their due time;
//   - ok: writes the task's done record at once, then deletes the file (or sets it aside for
//     reuse); alone on its dir, in batches once no task is due (its lock held until then;
//     listed on the board, and the next recovery removes a file its done record names, so that
//     neither a successor nor a restarted node runs it again).
//     retry / exception / crash: rewrites it durably with brood_attempt + 1 and
//     brood_last_error, mtime = now + backoff; after max_attempts failed attempts it moves to
//     DIR/failed/. ignore: keeps it until the next full scan. A torn or corrupt file (bad header,
//     bad vars, checksum mismatch; a short file only once it is older than 10 s) is logged and
//     moved to DIR/quarantine/;
//   - INT/TERM/QUIT: finishes the running task, then exits 0. Exits after max_tasks tasks.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brood/os/shared_array.hpp"
#include "brood/spooler/config.hpp"
#include "brood/spooler/spool.hpp"
#include "brood/spooler/spool_store.hpp"

namespace brood::spooler {

// State shared by all processes of a node: an anonymous MAP_SHARED mapping made by the master
// before it forks anything, one slot per spooler process. Fields are atomics; any process may
// read any slot. A spooler process writes only its own slot; the master writes pids.
class spooler_board {
 public:
  // One slot per entry of `slot_dirs` (the spooler dir of each process). Throws std::system_error
  // ("cannot map the spooler board: ...") if the mapping cannot be made.
  explicit spooler_board(std::vector<std::string> slot_dirs);
  ~spooler_board();
  spooler_board(const spooler_board&) = delete;
  spooler_board& operator=(const spooler_board&) = delete;

  std::size_t size() const noexcept;
  const std::string& dir(std::size_t slot) const;

  void set_pid(std::size_t slot, int pid) noexcept;  // 0: no process
  int pid(std::size_t slot) const noexcept;
  std::vector<int> pids() const;  // the live ones

  // The task a slot's process is running (its path, at most 4095 bytes), and its harakiri
  // deadline (CLOCK_MONOTONIC ns; 0: none). A process that dies leaves them set: that is how
  // its successor knows which task crashed.
  void set_running(std::size_t slot, std::string_view path, std::int64_t harakiri_ns) noexcept;
  void clear_running(std::size_t slot) noexcept;
  std::string running(std::size_t slot) const;
  std::int64_t harakiri_deadline(std::size_t slot) const noexcept;

  std::uint64_t tasks_done(std::size_t slot) const noexcept;  // tasks this slot finished
  void count_task(std::size_t slot) noexcept;

  // The tasks a slot's process ran to success but has not set aside yet (it does that in
  // batches, off the path of the tasks waiting): names relative to the slot's dir, at most
  // done_max of them, each at most done_name_max bytes. A process that dies leaves them: its
  // successor sets those files aside instead of running them again (their done records are
  // written already: a node killed with them, board and all, has its task log's recovery remove
  // them at its next start). Only the slot's process writes them; read them only once it is gone.
  // They form a queue: add_done appends, drop_done(n) forgets the n oldest.
  static constexpr std::size_t done_max = 128;
  static constexpr std::size_t done_name_max = 255;
  bool add_done(std::size_t slot, std::string_view name) noexcept;  // false: full or too long
  void drop_done(std::size_t slot, std::size_t n) noexcept;
  std::vector<std::string> done(std::size_t slot) const;  // oldest first

 private:
  struct shared;
  std::vector<std::string> dirs_;
  os::shared_array<shared> mem_;
};

// The body of spooler process `slot` after fork (signals already unblocked as the master's
// child). Before running anything it checks board.running(slot): a task left there by a
// crashed predecessor counts as a failed attempt ("spooler crashed while running it").
// Returns the process exit status. `handler` empty: every task is ignored with the log line
// "unable to find the spooler function".
int run_spooler(const spooler_config& cfg, const spool_store& store, spooler_board& board,
                std::size_t slot, const spool_handler& handler);

}  // namespace brood::spooler

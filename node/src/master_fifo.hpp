#pragma once
// The master FIFO (`master-fifo PATH`, repeatable: slots 0 to 9; docs/uwsgi-compat.md §5.3):
// a named FIFO the master reads one-byte commands from, e.g. `echo r > /run/app.fifo`.
//   - a letter of the table below becomes a fifo_command, passed to the owner's handler;
//   - '0'..'9' selects the slot whose path is used the next time the FIFO is re-created,
//     i.e. after the writer closes (a digit naming a slot without a path is logged and ignored);
//   - '\n' and '\r' (what `echo` appends) are ignored silently, any other byte is logged and
//     ignored;
//   - when every writer has closed (EOF), the FIFO of the selected slot is (re)created and
//     opened, so the next writer finds it there.
// Several bytes of one write are handled one after another, in order. What a command does is
// the owner's business (master_core); this class only reads and decodes.
// Not thread-safe: it runs on the thread of its event_loop.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brood/os/command_fifo.hpp"
#include "brood/os/event_loop.hpp"
#include "brood/os/status.hpp"

namespace brood::node {

// The commands of the master FIFO; each value is its byte.
enum class fifo_command : char {
  more_workers = '+',            // cheaper: one more worker
  fewer_workers = '-',           // cheaper: one fewer worker
  reinforcements = 'B',          // ask the emperor for reinforcements
  chain_reload = 'c',            // reload the workers one after another
  go_cheap = 'C',                // go cheap
  emperor_rescan = 'E',          // SIGWINCH to this master's emperor child, if any
  refork = 'f',                  // re-fork the master
  reopen_log = 'l',              // reopen the log
  rotate_log = 'L',              // rotate the log
  toggle_pause = 'p',            // pause / resume
  write_pidfiles = 'P',          // rewrite the pidfiles
  graceful_shutdown = 'q',       // stop gracefully
  brutal_shutdown = 'Q',         // stop now
  graceful_reload = 'r',         // reload gracefully
  brutal_reload = 'R',           // reload now
  log_stats = 's',               // print the stats to the log
  toggle_subscriptions = 'S',    // block / unblock subscriptions
  graceful_worker_reload = 'w',  // reload the workers gracefully
  brutal_worker_reload = 'W',    // reload the workers now
};

// The command of `byte`, or nullopt when it is none (digits included).
std::optional<fifo_command> fifo_command_of(char byte) noexcept;
// A name for logs, e.g. "graceful_reload".
std::string_view to_string(fifo_command c) noexcept;

class master_fifo {
 public:
  using handler = std::function<void(fifo_command)>;
  static constexpr std::size_t max_slots = 10;

  // Opens slot 0's FIFO (paths[0], see os::command_fifo::open) and watches it on `loop`, which
  // must outlive the object. `paths[i]` is slot i's path; "" leaves a slot without one.
  // `on_command` is called on the loop's thread for each command, in order; it may destroy the
  // master_fifo (the bytes after that command are then dropped). Errors: "master FIFO: no path"
  // or "master FIFO: N paths, at most 10 (slots 0 to 9)" (invalid_argument), or the
  // command_fifo's error with "master FIFO: " in front.
  static os::result<std::unique_ptr<master_fifo>> open(os::event_loop& loop,
                                                       std::vector<std::string> paths,
                                                       handler on_command);
  // Stops watching and closes the fd; the FIFO files stay (see os::command_fifo).
  ~master_fifo();
  master_fifo(const master_fifo&) = delete;
  master_fifo& operator=(const master_fifo&) = delete;

  int fd() const noexcept { return fifo_.fd(); }                     // -1 once a re-creation failed
  const std::string& path() const noexcept { return fifo_.path(); }  // the FIFO open now
  std::size_t selected_slot() const noexcept { return selected_; }

  // In a child forked from the master: closes this process's copy of the fd, leaving the
  // master's and the FIFO file alone. The object must then not be used any more.
  void release_in_child() noexcept { fifo_.release_in_child(); }

 private:
  master_fifo(os::event_loop& loop, std::vector<std::string> paths, handler on_command,
              os::command_fifo fifo);
  void watch();
  void on_readable();
  void on_byte(char byte);
  void select_slot(std::size_t slot);
  void recreate();  // after EOF: the selected slot's FIFO, watched; logged when it fails

  os::event_loop& loop_;
  std::vector<std::string> paths_;
  handler on_command_;
  os::command_fifo fifo_;
  int watched_fd_ = -1;  // the fd watched on loop_, -1 when none
  std::size_t selected_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed
};

}  // namespace brood::node

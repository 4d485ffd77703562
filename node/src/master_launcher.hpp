#pragma once
// The OS boundary of the node master: forking its workers and spooler processes, signalling
// them, the spooler board they share with it and the bytes it sends its emperor. master_core
// drives this interface only; the real implementation (os_master_launcher.hpp) forks the worker
// and spooler bodies, a test passes a fake that records what was asked and never touches the OS.
// Reaping is not here: whoever reaps reports each exit to master_core::on_exit.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "brood/wire/emperor_protocol.hpp"

namespace brood::node {

class master_launcher {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~master_launcher() = default;

  // Forks worker `id` (1-based) of generation `generation` (0 at the start, +1 per reload),
  // which serves the node's sockets. Returns its pid, or -1 with `ec` set.
  virtual pid_t spawn_worker(unsigned id, unsigned generation, std::error_code& ec) = 0;
  // Forks the spooler process of board slot `slot` (0-based) and records its pid on the spooler
  // board. Returns its pid, or -1 with `ec` set.
  virtual pid_t spawn_spooler(std::size_t slot, std::error_code& ec) = 0;
  // kill(2); a process already gone is ignored.
  virtual void signal(pid_t pid, int signo) noexcept = 0;

  // The spooler process of `slot` exited: the board no longer holds its pid nor its harakiri
  // deadline (which must not kill the successor); the task it ran stays for crash recovery.
  virtual void spooler_exited(std::size_t slot) noexcept = 0;
  // The harakiri deadline of the task the spooler process of `slot` runs (on the steady clock);
  // nullopt when it runs none or the task has no deadline.
  virtual std::optional<time_point> spooler_deadline(std::size_t slot) const noexcept = 0;
  // The spooler dir of `slot` and the task its process runs ("" when none), for log lines.
  virtual std::string spooler_dir(std::size_t slot) const = 0;
  virtual std::string spooler_task(std::size_t slot) const = 0;

  // One byte to the emperor (does nothing when the node is not a vassal).
  virtual void tell_emperor(wire::vassal_message m) noexcept = 0;
  // The node is an emperor's vassal (tell_emperor reaches someone).
  virtual bool has_emperor() const noexcept = 0;

  // The cheaper subsystem's view of the OS: the longest listen queue over the node's sockets
  // now (connections not accepted yet), and a worker's resident memory in bytes (0: unknown).
  virtual std::uint64_t listen_backlog() noexcept = 0;
  virtual std::uint64_t worker_rss(pid_t pid) noexcept = 0;
  // A worker's virtual size in bytes (evil-reload-on-as; 0: unknown).
  virtual std::uint64_t worker_vsz(pid_t /*pid*/) noexcept { return 0; }
  // harakiri-verbose: what a stuck worker is doing (its kernel wait channel and syscall), one
  // line; "" when unknown.
  virtual std::string stuck_details(pid_t /*pid*/) { return {}; }
  // Cheap mode: on, the master watches the listening sockets and reports the first connection
  // waiting there (master_core::on_connection_waiting); off, it stops watching them.
  virtual void wait_for_connection(bool on) = 0;
  // The subscription client (subscriber.hpp): one round of datagrams announcing the node to its
  // routers (unsubscribe false, carrying the listen queue as `load`) or withdrawing it.
  virtual void send_subscriptions(bool /*unsubscribe*/) noexcept {}
};

}  // namespace brood::node

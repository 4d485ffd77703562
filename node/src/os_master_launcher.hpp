#pragma once
// The real master_launcher: forks the worker bodies (serving the node's sockets, with the
// emperor link's worker extension) and the spooler process bodies, around the host's fork hooks
// (node_hooks); owns the spool store and the spooler board shared with the spooler processes;
// sends the emperor's bytes over the node's emperor_link; measures the listen queues and the
// workers' memory for the cheaper subsystem.
// Not thread-safe; used by the master's thread, which must be the only thread of the process.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/node.hpp"
#include "brood/node/router.hpp"
#include "brood/os/listen_queue.hpp"
#include "brood/spooler/spool_store.hpp"
#include "brood/spooler/spooler.hpp"
#include "emperor_link.hpp"
#include "master_launcher.hpp"
#include "scoreboard.hpp"
#include "subscriber.hpp"

namespace brood::node {

class os_master_launcher : public master_launcher {
 public:
  // `release_in_child` runs first in every forked child: it drops what belongs to the master
  // (its signalfd, its stats socket). Every reference must outlive this object; `listen_fds`
  // stay open (the workers get copies).
  os_master_launcher(const node_config& cfg, const router& r, const node_hooks& hooks,
                     const std::vector<int>& listen_fds, emperor_link& emperor, scoreboard& board,
                     std::function<void()> release_in_child,
                     std::function<void(bool)> wait_for_connection);
  // Forgets the spooler board as the current one. Kills nothing: the master_core's owner does.
  ~os_master_launcher() override;
  os_master_launcher(const os_master_launcher&) = delete;
  os_master_launcher& operator=(const os_master_launcher&) = delete;

  // With spooler dirs: makes the store and the board (set as the current board), one slot per
  // spooler process. false (logged) when a dir cannot be used. Without dirs: nothing, true.
  bool prepare_spoolers();
  // The board (nullptr before prepare_spoolers() or without spooler processes).
  const spooler::spooler_board* spooler_board() const noexcept { return spooler_board_.get(); }
  std::size_t spooler_slots() const noexcept { return spooler_board_ ? spooler_board_->size() : 0; }

  pid_t spawn_worker(unsigned id, unsigned generation, std::error_code& ec) override;
  pid_t spawn_spooler(std::size_t slot, std::error_code& ec) override;
  void signal(pid_t pid, int signo) noexcept override;
  void spooler_exited(std::size_t slot) noexcept override;
  std::optional<time_point> spooler_deadline(std::size_t slot) const noexcept override;
  std::string spooler_dir(std::size_t slot) const override;
  std::string spooler_task(std::size_t slot) const override;
  void tell_emperor(wire::vassal_message m) noexcept override;
  bool has_emperor() const noexcept override;
  std::uint64_t listen_backlog() noexcept override;
  std::uint64_t worker_rss(pid_t pid) noexcept override;
  std::uint64_t worker_vsz(pid_t pid) noexcept override;
  std::string stuck_details(pid_t pid) override;
  void wait_for_connection(bool on) override;
  void send_subscriptions(bool unsubscribe) noexcept override;
  // The subscription client the rounds go to (nullptr: none). Must outlive this object.
  void set_subscriber(subscriber* s) noexcept { subscriber_ = s; }

 private:
  pid_t fork_with_hooks(const std::function<int()>& body, std::error_code& ec);
  int worker_body(unsigned id);
  int spooler_body(std::size_t slot);

  const node_config& cfg_;
  const router& router_;
  const node_hooks& hooks_;
  const std::vector<int>& listen_fds_;
  emperor_link& emperor_;
  scoreboard& board_;
  std::function<void()> release_in_child_;
  std::function<void(bool)> wait_for_connection_;  // the master shell watches the sockets
  os::listen_queue_probe probe_;                   // measures the listen queues
  std::unique_ptr<spooler::spool_store> store_;
  std::unique_ptr<spooler::spooler_board> spooler_board_;
  subscriber* subscriber_ = nullptr;
};

// What a worker process runs once set up (its scoreboard slot claimed, the master's fds
// dropped): no-orphans, then start_worker_process and run_worker_process. Its exit status. Used
// by the forked workers.
int serve_worker_process(const node_config& cfg, const router& r, const node_hooks& hooks,
                         const std::vector<int>& listen_fds, const emperor_link& emperor,
                         unsigned id);

// The part of a worker's start that needs neither its sockets nor its scoreboard: its log role
// and title, the post-fork hooks, hooks.worker_start. nullopt to go on, else the exit status.
// The fork server's pre-forked worker runs it before its master's hand-over, off the path.
std::optional<int> start_worker_process(const node_config& cfg, const node_hooks& hooks,
                                        unsigned id);

// The rest: the accepting hooks, then run_worker over `listen_fds` with the emperor link's
// worker extension. Its exit status.
int run_worker_process(const node_config& cfg, const router& r, const std::vector<int>& listen_fds,
                       const emperor_link& emperor, unsigned id);

}  // namespace brood::node

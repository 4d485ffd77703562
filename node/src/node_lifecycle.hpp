#pragma once
// The process side of run_node around the sockets (brood/node/process_setup.hpp gives the order):
// pidfiles, socket owner, hooks, the privilege drop, chdir2, process titles and, when the node
// ends, vacuum and the atexit hooks. Lives in the master (or the lone worker) for the node's
// whole run; forked children never run its destructor (they end with _exit).
#include <optional>
#include <string>
#include <vector>

#include "brood/node/process_config.hpp"

namespace brood::node {

class node_lifecycle {
 public:
  explicit node_lifecycle(const process_config& cfg) : cfg_(cfg) {}
  // as-user-atexit hooks; with vacuum, the pidfiles written are removed ("VACUUM: pidfile
  // removed.").
  ~node_lifecycle();
  node_lifecycle(const node_lifecycle&) = delete;
  node_lifecycle& operator=(const node_lifecycle&) = delete;

  // Before binding: pidfile. False after logging why.
  bool before_bind();
  // After binding (`unix_paths`: the unix socket files the node created): chown-socket,
  // as-root hooks, setgroups/setgid/setuid, as-user hooks, pidfile2, chdir2. nullopt: go on;
  // else the exit status (logged).
  std::optional<int> after_bind(const std::vector<std::string>& unix_paths);

 private:
  bool write_pidfile(const std::string& path);

  const process_config& cfg_;
  std::vector<std::string> pidfiles_;  // written, to remove with vacuum
  bool started_ = false;               // after_bind ran: the atexit hooks are due
};

// The title of a node process per cfg: "uWSGI master" / "uWSGI worker N" / "uWSGI spooler"
// (auto-procname, or a procname-prefix alone), procname / procname-master, with
// procname-prefix(-spaced) in front; "" when no procname option is set (the title stays the
// command line).
// `worker_id`: 0 for the master, -1 for a spooler process.
std::string process_title(const process_config& cfg, int worker_id);

}  // namespace brood::node

#pragma once
// Running a node: bind the sockets, fork the workers, keep them alive, stop and reload on signals.
//   SIGINT / SIGTERM / SIGQUIT : graceful stop (in-flight requests finish, then reload-mercy, then
//                                SIGKILL), exit status 0.
//   SIGHUP                     : graceful reload of the workers; the listening sockets stay open,
//                                so no connection is refused.
// A worker that dies is respawned. Log lines (stderr) that tools and tests rely on:
//   "uwsgi socket N bound to TCP address HOST:PORT fd F"  /  "... UNIX address PATH fd F"
//   "spawned uWSGI worker N (pid: P, cores: 1)"
//   "node ready"                         (all workers spawned, sockets bound)
// With cfg.spooler.dirs, the master also runs the spooler processes (brood/spooler/spooler.hpp),
// forked before the workers, stopped with them, respawned when they die:
//   "spawned the uWSGI spooler on dir DIR with pid P"
// With UWSGI_EMPEROR_FD in the environment the node is an emperor's vassal (always with a master):
// it speaks brood/wire/emperor_protocol.hpp on that fd (docs/config.md, "Running under an
// emperor"); EOF on it stops the node with exit status 1.
#include <functional>
#include <string>

#include "brood/node/config.hpp"
#include "brood/node/router.hpp"
#include "brood/spooler/spool.hpp"
#include "brood/spooler/spooler.hpp"

namespace brood::node {

// Where a host (the Python layer) joins the node's process life. Every hook is optional.
struct node_hooks {
  std::function<void()> before_fork;        // master, just before each worker fork
  std::function<void()> after_fork_parent;  // master, just after each worker fork
  // In the worker (after fork, or in the only process without a master), before it serves.
  // lazy-apps loads the application here. Returning false ends the worker with status 22
  // (uWSGI's FAILED_APP).
  std::function<bool(unsigned worker_id)> worker_start;
  // In each spooler process after fork, before it runs tasks (lazy-apps loads the app here).
  // Returning false ends the process with status 22.
  std::function<bool(const std::string& spooler_dir)> spooler_start;
  // Runs the tasks in the spooler processes (the Python host: the uwsgi.spooler callable).
  spooler::spool_handler spooler;
  // Master: the board of the node's spooler processes, once made (before any fork: every child
  // inherits it), and nullptr just before it is destroyed. Never called without spooler dirs.
  // The Python host gives it to uwsgi.spooler_pids().
  std::function<void(const spooler::spooler_board*)> spooler_board;
};

// Runs until stopped; returns the process exit status. Never calls exit() (workers are ended
// with _exit after fork). The node serves cfg.sockets and, when fd 0 is a listening socket (an
// on-demand vassal's, bound by its emperor), that one too: it replaces the configured address
// it names. No socket at all: logged, status 1.
int run_node(const node_config& cfg, const router& r, const node_hooks& hooks = {});

}  // namespace brood::node

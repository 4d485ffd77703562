#pragma once
// Process and files: chdir, uid/gid, env, pidfile, vacuum, chmod-socket, chown-socket, procname*,
// die-on-term, touch-reload, attach-daemon, exec-*/hook-*, and the switches uWSGI configs carry.
// Filled by the CLI (cli/src/process_options.cpp); applied by process_setup.hpp and the master.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace brood::node {

// The points of a node's start where hooks run (hook-NAME / exec-NAME), in this order
// (docs/config.md, "Process and files").
enum class hook_point {
  asap,            // first of all, before chdir
  pre_jail,        // brood has no jail: right after asap
  in_jail,         //
  post_jail,       //
  pre_app,         // before the application is loaded
  post_app,        // after it is loaded
  as_root,         // after binding, before privileges are dropped
  as_user,         // after privileges are dropped
  as_user_atexit,  // when the node exits (master or lone worker)
  master_start,    // in the master, after as-user, before the workers are forked
  post_fork,       // in each worker, right after fork
  accepting,       // in each worker, after the app is ready, before it serves
};
inline constexpr int hook_point_count = 12;

struct process_config {
  // Files and environment, applied before the application is loaded.
  std::string chdir;             // chdir DIR: before the app is loaded
  std::string chdir2;            // chdir2 DIR: after privileges are dropped
  std::vector<std::string> env;  // env KEY=VALUE (repeatable); "KEY" alone unsets
  std::optional<mode_t> umask;   // umask MODE (octal)
  // Files the master writes.
  std::string pidfile;   // pidfile PATH: the master's pid, written before binding
  std::string pidfile2;  // pidfile2 PATH: the same, written after privileges are dropped
  bool vacuum = false;   // vacuum: remove the unix sockets and pidfiles on exit
  // Sockets and privileges.
  std::optional<mode_t> chmod_socket;  // chmod-socket [MODE]: the unix sockets' mode (666)
  std::string chown_socket;            // chown-socket USER[:GROUP]
  std::string uid;                     // uid USER|NUMBER, dropped after binding (when root)
  std::string gid;                     // gid GROUP|NUMBER, likewise
  // Signals and processes.
  bool die_on_term = false;  // die-on-term: SIGTERM stops the node (brood's behaviour anyway)
  bool no_orphans = false;   // no-orphans: workers die with the master
  // Process titles (procname-*; auto-procname).
  bool auto_procname = false;
  std::string procname;         // procname NAME: every process's title
  std::string procname_prefix;  // procname-prefix / procname-prefix-spaced (with the space)
  std::string procname_master;  // procname-master NAME: the master's title
  // touch-reload FILE (repeatable): graceful reload of the workers when the file's mtime changes.
  std::vector<std::string> touch_reload;
  // attach-daemon CMD (repeatable): commands the master runs with /bin/sh -c and respawns.
  std::vector<std::string> attach_daemons;
  // smart-attach-daemon "PIDFILE CMD" (repeatable): CMD daemonizes itself and writes PIDFILE;
  // the master runs it again when that pid is gone.
  std::vector<std::string> smart_attach_daemons;
  // Hook actions per point ("exec:CMD", "mkdir:DIR", ...; exec-NAME CMD is hook-NAME exec:CMD).
  std::vector<std::string> hooks[hook_point_count];

  const std::vector<std::string>& at(hook_point p) const { return hooks[static_cast<int>(p)]; }
  std::vector<std::string>& at(hook_point p) { return hooks[static_cast<int>(p)]; }
};

}  // namespace brood::node

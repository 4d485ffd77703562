#pragma once
// Applying process_config (docs/config.md, "Process and files"). A node starts in this order:
//   prepare_process (the CLI, first):  asap hooks, pre/in/post-jail hooks, umask, env, chdir
//   the application is loaded:         pre-app hooks, load, post-app hooks (the CLI)
//   run_node:                          pidfile, bind (chmod-socket), chown-socket, as-root hooks,
//                                      setgroups/setgid/setuid, as-user hooks, pidfile2, chdir2,
//                                      then the master or the lone worker
//   at exit:                           as-user-atexit hooks; with vacuum the pidfiles go (the
//                                      unix sockets always do)
// Every step logs what it does as uWSGI does ("chdir() to DIR", "setuid() to 65534").
#include <optional>

#include "brood/node/process_config.hpp"

namespace brood::node {

// The steps before the application is loaded. nullopt: go on; else the exit status (the failure
// is logged: a hook, "chdir(): No such file or directory [DIR]").
std::optional<int> prepare_process(const process_config& cfg);

}  // namespace brood::node

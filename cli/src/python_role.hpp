#pragma once
// How a program runs a node's Python application (module, wsgi-file). Two implementations, one
// linked into each program:
//  * embedded (python_role_embedded.cpp; `brood-python` and programs linking brood::cli): the
//    interpreter runs in this process;
//  * exec (python_role_exec.cpp; the `brood` command): `brood` execs `brood-python` from its own
//    directory with the same arguments, so nodes, emperors and clients without Python never load
//    libpython (a process starts in a third of the time).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "brood/node/router.hpp"
#include "brood/spooler/spool.hpp"
#include "options.hpp"

namespace brood::cli {

// Called first for a node that wants Python. nullopt: Python runs in this process, go on with
// run_with_python(). Otherwise this program cannot run it: exec'd brood-python (never returns
// on success) or the exit status after a logged failure. `args`: argv without the program name.
// REQUIRES: nothing of the environment or the fds (UWSGI_EMPEROR_FD, an on-demand fd 0) has
// been consumed yet.
// `bind_now` (a fork-server base): brood-python runs with LD_BIND_NOW=1, so every symbol of every
// library is bound before the first fork and no adopted vassal writes (and copies) the GOT pages
// of the base on its first calls; brood-python removes the variable at once (strip_bind_now), so
// nothing it starts inherits it.
std::optional<int> hand_over_python(const std::vector<std::string>& args, bool bind_now = false);

// In brood-python, first thing: removes LD_BIND_NOW when hand_over_python set it.
void strip_bind_now() noexcept;

// Loads the app into `router` and runs the node; the C++ `spooler` runs tasks unless the app
// sets uwsgi.spooler. Throws with the traceback when the app cannot load.
int run_with_python(const options& opts, node::router& router,
                    const spooler::spool_handler& spooler);

// What a fork-server base's run ends with: in the base, its exit status; in an adopted vassal
// (the serve loop forked it for its emperor), the argv it must run as a node (argv[0] included).
struct fork_base_outcome {
  int status = 0;
  std::optional<std::vector<std::string>> adopted_argv;
};

// A fork-server base (`fork-server PATH`, docs/uwsgi-compat.md §17): the interpreter started
// (before the process options with early-python), the early imports, the pre-app hooks, the
// application loaded, the post-app hooks, gc.freeze(), then node::serve_fork_server with
// Python's fork hooks. A failure to start Python or load the application is logged: status 22.
// `warm_up` runs in each warm spare before it is ready (fork_server_hooks::spare_warm_up).
fork_base_outcome run_fork_base(const options& opts, std::function<void()> warm_up = {});

}  // namespace brood::cli

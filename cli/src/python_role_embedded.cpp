// The embedded Python role (python_role.hpp): the interpreter runs in this process.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "brood/node/fork_server.hpp"
#include "brood/node/hooks.hpp"
#include "brood/node/node.hpp"
#include "brood/node/process_setup.hpp"
#include "brood/node/worker.hpp"
#include "brood/os/log.hpp"
#include "brood/os/step_trace.hpp"
#include "python_role.hpp"
#ifdef BROOD_WITH_PYTHON
#include "brood/python/fork_base.hpp"
#include "brood/python/host.hpp"
#endif

namespace brood::cli {

std::optional<int> hand_over_python(const std::vector<std::string>&, bool) { return std::nullopt; }

void strip_bind_now() noexcept {
  if (::getenv("BROOD_BIND_NOW") == nullptr) return;
  ::unsetenv("BROOD_BIND_NOW");
  ::unsetenv("LD_BIND_NOW");
}

#ifdef BROOD_WITH_PYTHON
namespace {

// The Python host of a master whose worker 1 is the fork server's pre-forked worker
// (brood/node/fork_server.hpp): that worker sets up its own host, so the master needs one only
// to fork a worker itself (a respawn, a reload, more processes) or to serve alone. It is set up
// then, on first need, instead of before the sockets are bound: its CPU time is off the
// adoption's path and a master that never forks keeps no private copies of the pages the set-up
// writes (its spare rehearses the option parsing only: fork_server_hooks::master_warm_up;
// bench/RESULTS.md, issue 14: -0.3 to -1 ms of master CPU, -0.5 MB PSS per vassal). Hooks (hook-*)
// and spoolers never come with a pre-forked worker (node::prefork_unfit), so pre-app/post-app run
// as before and no spooler needs the host.
class deferred_host {
 public:
  deferred_host(const options& opts, node::router& router, spooler::spool_handler spooler)
      : opts_(opts), router_(router), spooler_(std::move(spooler)) {}

  node::node_hooks hooks() {
    node::node_hooks h;
    h.before_fork = [this] {
      ensure();
      if (real_.before_fork) real_.before_fork();
    };
    h.after_fork_parent = [this] {
      if (real_.after_fork_parent) real_.after_fork_parent();
    };
    // In a forked worker the host exists (made by before_fork); alone, it is made here.
    h.worker_start = [this](unsigned id) {
      ensure();
      return !real_.worker_start || real_.worker_start(id);
    };
    h.spooler_board = [this](const spooler::spooler_board* board) {
      if (!host_ && board == nullptr) return;
      ensure();
      if (real_.spooler_board) real_.spooler_board(board);
    };
    h.spooler = spooler_;
    return h;
  }

 private:
  // Sets the host up once; a failure ends the process as a failed start does (status 22).
  void ensure() {
    if (host_) return;
    os::log("setting up the Python host (deferred: worker 1 was pre-forked)");
    try {
      host_ = std::make_unique<python::host>(opts_.app, router_, opts_.config);
    } catch (const std::runtime_error& e) {
      os::log(e.what());
      os::log("*** no app loaded. GAME OVER ***");
      std::fflush(nullptr);
      ::_exit(node::failed_app_status);
    }
    real_ = host_->hooks();
  }

  const options& opts_;
  node::router& router_;
  spooler::spool_handler spooler_;
  std::unique_ptr<python::host> host_;
  node::node_hooks real_;
};

}  // namespace
#endif

int run_with_python(const options& opts, node::router& router,
                    const spooler::spool_handler& spooler) {
#ifdef BROOD_WITH_PYTHON
  using node::hook_point;
  if (node::hook_outcome h = node::run_hooks(opts.config.process, hook_point::pre_app); !h.ok())
    return *h.exit_status;
  if (node::holds_preforked_worker()) {
    deferred_host deferred(opts, router, spooler);
    if (node::hook_outcome h = node::run_hooks(opts.config.process, hook_point::post_app); !h.ok())
      return *h.exit_status;
    return node::run_node(opts.config, router, deferred.hooks());
  }
  std::unique_ptr<python::host> loaded;
  os::step_trace("host.start");
  try {
    loaded = std::make_unique<python::host>(opts.app, router, opts.config);
  } catch (const std::runtime_error& e) {
    if (!opts.app.need_app) throw;
    os::log(e.what());
    os::log("*** no app loaded. GAME OVER ***");
    return node::failed_app_status;
  }
  python::host& host = *loaded;
  os::step_trace("host.ready");
  if (node::hook_outcome h = node::run_hooks(opts.config.process, hook_point::post_app); !h.ok())
    return *h.exit_status;
  node::node_hooks hooks = host.hooks();
  if (!hooks.spooler) hooks.spooler = spooler;
  return node::run_node(opts.config, router, hooks);
#else
  (void)opts, (void)router, (void)spooler;
  std::cerr << "brood: this brood was built without Python (module, wsgi-file)\n";
  return 2;
#endif
}

#ifdef BROOD_WITH_PYTHON
namespace {

// The base's interpreter and early imports; null after a failure (logged).
std::unique_ptr<python::fork_base> start_base(const python::app_options& app) {
  try {
    return std::make_unique<python::fork_base>(app);
  } catch (const std::runtime_error& e) {
    os::log(e.what());
    return nullptr;
  }
}

}  // namespace
#endif

fork_base_outcome run_fork_base(const options& opts, std::function<void()> warm_up) {
#ifdef BROOD_WITH_PYTHON
  using node::hook_point;
  std::unique_ptr<python::fork_base> base;
  if (opts.app.early_python && !(base = start_base(opts.app)))
    return {node::failed_app_status, std::nullopt};
  if (std::optional<int> failed = node::prepare_process(opts.config.process))
    return {*failed, std::nullopt};
  if (!base && !(base = start_base(opts.app))) return {node::failed_app_status, std::nullopt};
  if (node::hook_outcome h = node::run_hooks(opts.config.process, hook_point::pre_app); !h.ok())
    return {*h.exit_status, std::nullopt};
  try {
    base->load();
  } catch (const std::runtime_error& e) {
    os::log(e.what());
    os::log("*** no app loaded: the fork-server base stops ***");
    return {node::failed_app_status, std::nullopt};
  }
  if (node::hook_outcome h = node::run_hooks(opts.config.process, hook_point::post_app); !h.ok())
    return {*h.exit_status, std::nullopt};
  node::fork_server_options fork_options;
  fork_options.spares = opts.app.fork_server_spares;
  fork_options.prefork = opts.app.fork_server_prefork;
  node::fork_server_hooks hooks = base->hooks();
  // A master with a pre-forked worker defers its Python host (deferred_host): it rehearses the
  // option parsing only.
  hooks.master_warm_up = warm_up;
  hooks.spare_warm_up = [python = std::move(hooks.spare_warm_up), cli = std::move(warm_up)] {
    if (python) python();
    if (cli) cli();
  };
  node::fork_server_result r = node::serve_fork_server(opts.app.fork_server, hooks, fork_options);
  // In an adopted vassal `base` goes without finalizing: the node's host joins the interpreter.
  return {r.exit_status, std::move(r.adopted_argv)};
#else
  (void)opts, (void)warm_up;
  std::cerr << "brood: this brood was built without Python (fork-server)\n";
  return {2, std::nullopt};
#endif
}

}  // namespace brood::cli

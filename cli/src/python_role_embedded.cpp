// The embedded Python role (python_role.hpp): the interpreter runs in this process.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "brood/node/hooks.hpp"
#include "brood/node/node.hpp"
#include "brood/node/process_setup.hpp"
#include "brood/node/worker.hpp"
#include "brood/os/log.hpp"
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

int run_with_python(const options& opts, node::router& router,
                    const spooler::spool_handler& spooler) {
#ifdef BROOD_WITH_PYTHON
  using node::hook_point;
  if (node::hook_outcome h = node::run_hooks(opts.config.process, hook_point::pre_app); !h.ok())
    return *h.exit_status;
  std::unique_ptr<python::host> loaded;
  try {
    loaded = std::make_unique<python::host>(opts.app, router, opts.config);
  } catch (const std::runtime_error& e) {
    if (!opts.app.need_app) throw;
    os::log(e.what());
    os::log("*** no app loaded. GAME OVER ***");
    return node::failed_app_status;
  }
  python::host& host = *loaded;
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

// The embedded Python role (python_role.hpp): the interpreter runs in this process.
#include <iostream>
#include <memory>
#include <stdexcept>

#include "brood/node/hooks.hpp"
#include "brood/node/node.hpp"
#include "brood/node/worker.hpp"
#include "brood/os/log.hpp"
#include "python_role.hpp"
#ifdef BROOD_WITH_PYTHON
#include "brood/python/host.hpp"
#endif

namespace brood::cli {

std::optional<int> hand_over_python(const std::vector<std::string>&) { return std::nullopt; }

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

}  // namespace brood::cli

// The embedded Python role (python_role.hpp): the interpreter runs in this process.
#include <iostream>

#include "brood/node/node.hpp"
#include "python_role.hpp"
#ifdef BROOD_WITH_PYTHON
#include "brood/python/host.hpp"
#endif

namespace brood::cli {

std::optional<int> hand_over_python(const std::vector<std::string>&) { return std::nullopt; }

int run_with_python(const options& opts, node::router& router,
                    const spooler::spool_handler& spooler) {
#ifdef BROOD_WITH_PYTHON
  python::host host(opts.app, router, opts.config);
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

// brood::cli::run: picks the role from argv (call, ping, --help, --version, or a node).
#include "brood/cli/cli.hpp"

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "brood/node/node.hpp"
#include "brood/python/host.hpp"
#include "commands.hpp"
#include "options.hpp"

#ifndef BROOD_VERSION
#define BROOD_VERSION "unknown"
#endif

namespace brood::cli {
namespace {

constexpr int status_failure = 1;
constexpr int status_usage = 2;

int run_node_role(const options& opts, const router_setup& setup) {
  if (opts.config.sockets.empty()) {
    std::cerr << "brood: no socket configured (use --socket ADDR)\n";
    return status_usage;
  }
  node::router router(opts.config.limits);
  if (setup) setup(router);
  if (!opts.app.wanted()) return node::run_node(opts.config, router);
#ifdef BROOD_WITH_PYTHON
  python::host host(opts.app, router);  // throws with the traceback when the app cannot load
  return node::run_node(opts.config, router, host.hooks());
#else
  std::cerr << "brood: this brood was built without Python (module, wsgi-file)\n";
  return status_usage;
#endif
}

int run_role(const std::vector<std::string>& args, const router_setup& setup) {
  if (!args.empty() && args.front() == "call") return run_call({args.begin() + 1, args.end()});
  if (!args.empty() && args.front() == "ping") return run_ping({args.begin() + 1, args.end()});
  options_result parsed = parse_options(args);
  if (!parsed.options) {
    std::cerr << "brood: " << parsed.error << "\n";
    return status_usage;
  }
  if (parsed.options->help) {
    std::cout << help_text();
    return 0;
  }
  if (parsed.options->version) {
    std::cout << "brood " << BROOD_VERSION << "\n";
    return 0;
  }
  return run_node_role(*parsed.options, setup);
}

}  // namespace

int run(int argc, char** argv, const router_setup& setup) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  try {
    return run_role(args, setup);
  } catch (const std::exception& e) {
    std::cerr << "brood: " << e.what() << "\n";
    return status_failure;
  }
}

}  // namespace brood::cli

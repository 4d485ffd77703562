// brood::cli::run: picks the role from argv (call, ping, spool, --help, --version, or a node).
#include "brood/cli/cli.hpp"

#include <unistd.h>

#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "brood/client/spool.hpp"
#include "brood/emperor/emperor.hpp"
#include "brood/node/fork_server.hpp"
#include "brood/node/hooks.hpp"
#include "brood/node/node.hpp"
#include "brood/node/process_setup.hpp"
#include "brood/node/remote_spool.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"
#include "brood/os/process_title.hpp"
#include "brood/os/step_trace.hpp"
#include "brood/router/router.hpp"
#include "brood/spooler/spool_store.hpp"
#include "commands.hpp"
#include "legion_command.hpp"
#include "log_output.hpp"
#include "options.hpp"
#include "python_role.hpp"

#ifndef BROOD_VERSION
#define BROOD_VERSION "unknown"
#endif

namespace brood::cli {
namespace {

constexpr int status_failure = 1;
constexpr int status_usage = 2;

// The store modifier1 17 writes into: every spooler and spooler-external dir, or null when the
// node has none. A dir that cannot be created or resolved is reported (status 2).
std::optional<std::shared_ptr<const spooler::spool_store>> open_spool_store(
    const spooler::spooler_config& cfg, int& status) {
  if (!cfg.any()) return std::shared_ptr<const spooler::spool_store>();
  std::vector<std::string> dirs = cfg.dirs;
  dirs.insert(dirs.end(), cfg.external_dirs.begin(), cfg.external_dirs.end());
  try {
    // The node's processes share one task log per dir, served by this process (the master).
    return std::make_shared<const spooler::spool_store>(
        dirs, spooler::spool_store_options::of(cfg, true));
  } catch (const std::system_error& e) {
    std::cerr << "brood: cannot use the spooler dir: " << e.what() << "\n";
    status = status_usage;
    return std::nullopt;
  }
}

// The warnings of option parsing go to the log, the show-config text to stderr (uWSGI prints it
// in its log), once: by the process that runs the role, not by one that hands it over.
void report(const options_result& parsed) {
  for (const std::string& w : parsed.warnings) os::log(w);
  if (!parsed.options->show_config.empty()) std::cerr << parsed.options->show_config << std::flush;
}

int run_fork_base_role(const options& base, const std::vector<std::string>& args,
                       const router_setup& setup, const spooler::spool_handler& spooler);

int run_node_role(const options_result& parsed, const std::vector<std::string>& args,
                  const router_setup& setup, const spooler::spool_handler& spooler) {
  const options& opts = *parsed.options;
  if (opts.app.wanted())
    if (std::optional<int> status = hand_over_python(args, !opts.app.fork_server.empty()))
      return *status;
  // logto, daemonize: in the process that runs the node (not in one that hands it over).
  if (const int status = redirect_output(opts.config.log); status >= 0) return status;
  if (!node::is_preforked_worker()) report(parsed);  // its master reports them
  if (!opts.app.fork_server.empty()) return run_fork_base_role(opts, args, setup, spooler);
  // An on-demand vassal gets its socket from its emperor on fd 0 (run_node adopts it); a zerg
  // from its zerg servers.
  if (opts.config.sockets.empty() && opts.config.http.sockets.empty() &&
      opts.config.http.https.empty() && opts.config.zergs.empty() &&
      !os::is_listening_socket(STDIN_FILENO)) {
    std::cerr
        << "brood: no socket configured (use --socket ADDR, --http-socket ADDR or --zerg PATH)\n";
    return status_usage;
  }
  if (std::optional<int> failed = node::prepare_process(opts.config.process)) return *failed;
  int status = 0;
  auto store = open_spool_store(opts.config.spooler, status);
  if (!store) return status;
  node::router router(opts.config.limits);
  node::serve_remote_spool(router, std::move(*store));  // before setup: a program may replace it
  if (setup) setup(router);
  if (opts.app.wanted()) return run_with_python(opts, router, spooler);
  for (node::hook_point p : {node::hook_point::pre_app, node::hook_point::post_app})
    if (node::hook_outcome h = node::run_hooks(opts.config.process, p); !h.ok())
      return *h.exit_status;
  node::node_hooks hooks;
  hooks.spooler = spooler;
  return node::run_node(opts.config, router, hooks);
}

// An adopted vassal of the fork-server base `base` (docs/uwsgi-compat.md §17): `argv` (the
// emperor's request, argv[0] included) parsed as a node's options, the node run on the base's
// running interpreter, with the base's application when it names none.
int run_adopted(const options& base, const std::vector<std::string>& argv,
                const router_setup& setup, const spooler::spool_handler& spooler) {
  const std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  std::string title;  // what ps shows: the vassal's command line, not the base's
  for (const std::string& a : argv) title += (title.empty() ? "" : " ") + a;
  os::set_process_title(title);
  os::step_trace("adopted.parse");
  options_result parsed = parse_options(args);
  if (!parsed.options) {
    os::log("adopted vassal: ", parsed.error);
    return status_usage;
  }
  options& opts = *parsed.options;
  if (opts.emperor.is_emperor() || opts.help || opts.version) {
    os::log("adopted vassal: a fork-server base forks nodes only (no emperor, help or version)");
    return status_usage;
  }
  if (!opts.app.fork_server.empty()) {
    os::log("adopted vassal: fork-server ", opts.app.fork_server,
            " ignored: a vassal forked from a base is no base itself");
    opts.app.fork_server.clear();
  }
  python::app_options& app = opts.app;
  if (app.modules.empty() && app.wsgi_file.empty() && app.mounts.empty()) {
    app.modules = base.app.modules;  // already imported: taken from sys.modules
    app.wsgi_file = base.app.wsgi_file;
    app.mounts = base.app.mounts;
    app.callable = base.app.callable;
  }
  app.early_python = true;  // the base's interpreter runs here: the host joins it in any case
  // The spare's pre-forked worker (brood/node/fork_server.hpp) parsed the same options.
  if (std::string why = node::prefork_unfit(opts.config); !why.empty()) {
    if (node::is_preforked_worker()) ::_exit(0);  // its master says why
    node::dismiss_preforked_worker(why);
  }
  return run_node_role(parsed, args, setup, spooler);
}

// A warm spare's rehearsal of an adopted vassal's first steps, so that their copy-on-write faults
// happen before the request: the option parser run over the base's own arguments and over them
// with a node's usual options (the option table's descriptions, malloc's free lists), and the
// stack the node's start-up will use.
[[gnu::noinline]] void touch_stack() {
  volatile char area[256 * 1024];
  for (std::size_t i = 0; i < sizeof(area); i += 4096) area[i] = 0;
}

int run_fork_base_role(const options& base, const std::vector<std::string>& args,
                       const router_setup& setup, const spooler::spool_handler& spooler) {
  if (!base.config.sockets.empty() || !base.config.http.sockets.empty())
    os::log(
        "fork-server base: its sockets are not bound (a base serves fork requests only; "
        "its adopted vassals bind their own)");
  fork_base_outcome out = run_fork_base(base, [&args] {
    (void)parse_options(args);
    // Then a node's usual options besides, so that the allocations a vassal's parse makes that
    // the base's own options do not are rehearsed too (nothing is bound).
    std::vector<std::string> node_like = args;
    node_like.insert(node_like.end(), {"--socket", "127.0.0.1:0", "--master", "--processes", "1",
                                       "--threads", "1", "--listen", "100"});
    (void)parse_options(node_like);
    touch_stack();
  });
  if (!out.adopted_argv) return out.status;
  os::step_trace("adopted.returned");
  return run_adopted(base, *out.adopted_argv, setup, spooler);
}

int run_emperor_role(const options& opts) {
  if (!opts.config.sockets.empty()) {
    std::cerr << "brood: --emperor and --socket in one process are not supported: run the "
                 "emperor and the node as separate processes\n";
    return status_usage;
  }
  return emperor::run_emperor(opts.emperor);
}

int run_role(const std::vector<std::string>& args, const router_setup& setup,
             const spooler::spool_handler& spooler) {
  if (!args.empty() && args.front() == "call") return run_call({args.begin() + 1, args.end()});
  if (!args.empty() && args.front() == "ping") return run_ping({args.begin() + 1, args.end()});
  if (!args.empty() && args.front() == "spool") return run_spool({args.begin() + 1, args.end()});
  if (!args.empty() && args.front() == "legion") return run_legion({args.begin() + 1, args.end()});
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
  if (parsed.options->emperor.is_emperor()) {
    if (const int status = redirect_output(parsed.options->config.log); status >= 0) return status;
    report(parsed);
    return run_emperor_role(*parsed.options);
  }
  if (parsed.options->router.wanted()) {
    if (!parsed.options->config.sockets.empty()) {
      std::cerr << "brood: --fastrouter and --socket in one process are not supported: run the "
                   "router and the nodes as separate processes\n";
      return status_usage;
    }
    if (const int status = redirect_output(parsed.options->config.log); status >= 0) return status;
    report(parsed);
    return router::run_router(parsed.options->router);
  }
  return run_node_role(parsed, args, setup, spooler);
}

}  // namespace

int run(int argc, char** argv, const router_setup& setup) { return run(argc, argv, setup, {}); }

int run(int argc, char** argv, const router_setup& setup, const spooler::spool_handler& spooler) {
  strip_bind_now();
  os::init_process_title(argc, argv);
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  try {
    return run_role(args, setup, spooler);
  } catch (const std::exception& e) {
    std::cerr << "brood: " << e.what() << "\n";
    return status_failure;
  }
}

}  // namespace brood::cli

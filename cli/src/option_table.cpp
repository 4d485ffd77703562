#include "option_table.hpp"

#include <cctype>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cheaper_options.hpp"
#include "emperor_options.hpp"
#include "http_options.hpp"
#include "legion_options.hpp"
#include "lifetime_options.hpp"
#include "log_options.hpp"
#include "option_values.hpp"
#include "process_options.hpp"
#include "router_options.hpp"
#include "spooler_options.hpp"
#include "subscription_options.hpp"
#include "zerg_options.hpp"

namespace brood::cli {
namespace {

// Long aliases of an option: the alias is parsed like its target, then renamed to it.
constexpr std::pair<std::string_view, std::string_view> aliases[] = {
    {"uwsgi-socket", "socket"},
    {"workers", "processes"},
    {"worker-reload-mercy", "reload-mercy"},
    {"file", "wsgi-file"},                      // Python
    {"pp", "pythonpath"},                       // Python
    {"python-path", "pythonpath"},              // Python
    {"fork-socket", "fork-server"},             // Python: a fork-server base
    {"early-python-import", "early-pyimport"},  // Python
    {"early-python-path", "early-pythonpath"},  // Python
    {"plugins", "plugin"},                      // uWSGI ini files
    {"spooler-freq", "spooler-frequency"},
    {"include", "ini"},  // uWSGI loads any config file; brood reads ini files
    {"inherit", "ini"},
    {"stats-server", "stats"},
    {"vassals-set", "vassal-set"},
    {"emperor-on-demand-ext", "emperor-on-demand-extension"},
    {"emperor-on-demand-dir", "emperor-on-demand-directory"},
    {"emperor-stats-server", "emperor-stats"},
    {"subscribe", "subscribe-to"},
    {"st", "subscribe-to"},
    {"fastrouter-stats-server", "fastrouter-stats"},
    {"fastrouter-ss", "fastrouter-stats"},
};

po::options_description build_table() {
  po::options_description general("General", help_width, help_width / 2);
  general.add_options()  //
      ("help,h", po::bool_switch(), "print this help and exit")("version", po::bool_switch(),
                                                                "print the version and exit")(
          "ini", string_list_value()->value_name("FILE[:SECTION]"),
          "load options from an ini file: its [uwsgi] section, else [brood], or SECTION; "
          "repeatable, and allowed inside ini files")(
          "include", string_list_value()->value_name("FILE[:SECTION]"), "same as --ini")(
          "inherit", string_list_value()->value_name("FILE[:SECTION]"), "same as --ini")(
          "set", string_list_value()->value_name("KEY=VALUE"),
          "set option KEY to VALUE, as `--KEY VALUE` would; repeatable");

  po::options_description node("Node", help_width, help_width / 2);
  node.add_options()  //
      ("socket,s", address_list_value(),
       "bind a uwsgi socket: HOST:PORT, :PORT (all interfaces) or a unix socket path; "
       "repeatable")("uwsgi-socket", address_list_value(), "same as --socket")(
          "processes,p", uint_value(1, max_processes)->default_value(1),
          "number of worker processes")("workers", uint_value(1, max_processes),
                                        "same as --processes")(
          "master,M", flag_value(), "run a master process (implied by processes > 1)")(
          "buffer-size,b", uint_value(1, 65535)->default_value(4096),
          "largest request packet accepted, in bytes (the vars block or message, body excluded)")(
          "max-vars,v", uint_value(1, 16384)->default_value(64),
          "a vars block may hold at most 2 * max-vars key/value pairs")(
          "listen,l", uint_value(1, 65535)->default_value(100),
          "listen queue (backlog) of every socket")(
          "socket-timeout,z", uint_value(1, max_seconds)->default_value(4)->value_name("SECONDS"),
          "a client must send its whole request, and take the answer, within this many seconds")(
          "keepalive-timeout", uint_value(1, max_seconds)->default_value(60)->value_name("SECONDS"),
          "close a kept-alive connection idle for this many seconds (brood)")(
          "reload-mercy", uint_value(0, max_seconds)->default_value(60)->value_name("SECONDS"),
          "on stop or reload, give workers this long to finish their requests, then kill them")(
          "worker-reload-mercy", uint_value(0, max_seconds)->value_name("SECONDS"),
          "same as --reload-mercy")(
          "heartbeat", uint_value(0, max_seconds)->default_value(0)->value_name("SECONDS"),
          "as an emperor's vassal, each worker sends a heartbeat this often (0: never)")(
          "stats", po::value<std::string>()->value_name("ADDR"),
          "serve the node's state as JSON (uWSGI's stats format) on ADDR: HOST:PORT or a unix "
          "socket path")("stats-server", po::value<std::string>()->value_name("ADDR"),
                         "same as --stats")(
          "threads", uint_value(1, 256)->default_value(1)->value_name("N"),
          "each worker serves N requests at once, one per thread (its cores); Python runs "
          "one thread at a time (the GIL), released while a request waits")(
          "enable-threads", flag_value(),
          "uWSGI's switch for Python threads; in brood they always run (the GIL is released "
          "while a worker waits), so it changes nothing")(
          "offload-threads", uint_value(0, 256)->value_name("N"),
          "uWSGI's threads for writing static files and big replies; brood's workers write "
          "every reply without blocking, so it changes nothing");

  po::options_description python("Python", help_width, help_width / 2);
  python.add_options()  //
      ("module,w", string_list_value()->value_name("MODULE[:CALLABLE]"),
       "import a Python module in the node (its WSGI callable, if it has one, serves "
       "modifier1 0); repeatable")("wsgi-file", po::value<std::string>()->value_name("FILE"),
                                   "load a Python file as the node's WSGI application")(
          "file", po::value<std::string>()->value_name("FILE"), "same as --wsgi-file")(
          "callable", po::value<std::string>()->default_value("application")->value_name("NAME"),
          "name of the WSGI callable in the module or file")(
          "pythonpath", string_list_value()->value_name("DIR"),
          "add a directory to the Python module search path; repeatable")(
          "pp", string_list_value()->value_name("DIR"), "same as --pythonpath")(
          "python-path", string_list_value()->value_name("DIR"), "same as --pythonpath")(
          "lazy-apps", flag_value(),
          "load the application in each worker after fork, instead of once in the master")(
          "fork-server", po::value<std::string>()->value_name("PATH"),
          "be a fork-server base: load the Python code, then fork an adopted vassal for each "
          "request of the emperor on the unix socket PATH instead of serving (brood: Python)")(
          "fork-socket", po::value<std::string>()->value_name("PATH"), "same as --fork-server")(
          "fork-server-spares", po::value<int>()->default_value(1)->value_name("N"),
          "in a fork-server base with an emperor: keep N (0 or 1) adopted vassals forked ahead, "
          "so that a request is answered without a fork (brood)")(
          "fork-server-prefork", flag_value()->default_value(true, "true"),
          "in a fork-server base: the warm spare forks its vassal's worker 1 ahead too, and "
          "hands it the sockets instead of forking it (brood; false: worker 1 is forked)")(
          "fork-server-warm-up", string_list_value()->value_name("MODULE:FUNC"),
          "in a fork-server base: call FUNC() of MODULE in every warm spare and pre-forked "
          "worker before it is ready, so that what a library does on its first call after a "
          "fork is done ahead of the request (brood); repeatable")(
          "early-python", flag_value(),
          "run Python in this node; in a fork-server base, start the interpreter before the "
          "process options (chdir, env, umask) apply")(
          "early-pyimport", string_list_value()->value_name("MODULE"),
          "import a Python module right after the interpreter starts, before the application "
          "(in a fork-server base: once, for every adopted vassal); repeatable")(
          "early-python-import", string_list_value()->value_name("MODULE"),
          "same as --early-pyimport")(
          "early-pythonpath", string_list_value()->value_name("DIR"),
          "add a directory to the Python module search path before the early imports; "
          "repeatable")("early-python-path", string_list_value()->value_name("DIR"),
                        "same as --early-pythonpath")(
          "plugin", string_list_value()->value_name("NAMES"),
          "uWSGI plugins to load: python and python3 are accepted (Python is built in), "
          "any other is an error")("plugins", string_list_value()->value_name("NAMES"),
                                   "same as --plugin");

  po::options_description all;
  all.add(general)
      .add(node)
      .add(cheaper_option_group(help_width))
      .add(spooler_option_group(help_width))
      .add(zerg_option_group(help_width))
      .add(http_option_group(help_width))
      .add(lifetime_option_group(help_width))
      .add(process_option_group(help_width))
      .add(log_option_group(help_width))
      .add(emperor_option_group(help_width))
      .add(legion_option_group(help_width))
      .add(subscription_option_group(help_width))
      .add(router_option_group(help_width))
      .add(python);
  return all;
}

// True for the names of uWSGI's Python plugins: python, python3, python311, python3.11.
bool python_plugin(std::string_view name) {
  if (name.substr(0, 6) != "python") return false;
  for (char c : name.substr(6))
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  return true;
}

// Every plugin named must be a Python one (a value may list several: "python3,http").
void check_plugins(const po::variables_map& vm) {
  if (!vm.count("plugin")) return;
  for (const std::string& value : vm["plugin"].as<std::vector<std::string>>()) {
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t end = value.find_first_of(", ", start);
      if (end == std::string::npos) end = value.size();
      std::string_view name(value.data() + start, end - start);
      if (!name.empty() && !python_plugin(name))
        throw option_error("plugin '" + std::string(name) +
                           "' is not available: brood has Python built in and no other plugins");
      start = end + 1;
    }
  }
}

}  // namespace

const po::options_description& option_table() {
  static const po::options_description table = build_table();
  return table;
}

std::string canonical_option(std::string_view name) {
  for (auto [alias, target] : aliases)
    if (name == alias) return std::string(target);
  return std::string(name);
}

node::node_config to_node_config(const po::variables_map& vm) {
  using std::chrono::seconds;
  node::node_config cfg;
  if (vm.count("socket")) cfg.sockets = vm["socket"].as<std::vector<std::string>>();
  cfg.processes = static_cast<unsigned>(number(vm, "processes"));
  cfg.master = vm["master"].as<bool>() || cfg.processes > 1;
  cfg.limits.buffer_size = number(vm, "buffer-size");
  cfg.limits.max_vars = number(vm, "max-vars");
  cfg.listen_queue = static_cast<int>(number(vm, "listen"));
  cfg.socket_timeout = seconds(number(vm, "socket-timeout"));
  cfg.keepalive_timeout = seconds(number(vm, "keepalive-timeout"));
  cfg.reload_mercy = seconds(number(vm, "reload-mercy"));
  cfg.heartbeat = seconds(number(vm, "heartbeat"));
  cfg.threads = static_cast<unsigned>(number(vm, "threads"));
  cfg.enable_threads = vm["enable-threads"].as<bool>() || cfg.threads > 1;
  if (vm.count("stats")) cfg.stats = vm["stats"].as<std::string>();
  if (!cfg.stats.empty()) cfg.master = true;  // the master serves the stats
  cfg.spooler = to_spooler_config(vm);
  if (!cfg.spooler.dirs.empty()) cfg.master = true;  // spooler processes need the master (uWSGI)
  apply_cheaper_options(vm, cfg);                    // after processes; may imply master
  apply_zerg_options(vm, cfg);                       // may imply master
  apply_http_options(vm, cfg);
  apply_lifetime_options(vm, cfg);
  apply_process_options(vm, cfg);
  apply_log_options(vm, cfg);
  apply_subscription_options(vm, cfg);  // may imply master
  cfg.legion = to_legion_config(vm);
  if (!cfg.legion.legions.empty()) cfg.master = true;  // the master runs the legion threads
  return cfg;
}

python::app_options to_app_options(const po::variables_map& vm) {
  check_plugins(vm);
  python::app_options app;
  app.modules = strings(vm, "module");
  if (vm.count("wsgi-file")) app.wsgi_file = vm["wsgi-file"].as<std::string>();
  app.callable = vm["callable"].as<std::string>();
  app.pythonpath = strings(vm, "pythonpath");
  app.lazy_apps = vm["lazy-apps"].as<bool>();
  if (vm.count("fork-server")) app.fork_server = vm["fork-server"].as<std::string>();
  app.fork_server_spares = vm["fork-server-spares"].as<int>();
  if (app.fork_server_spares < 0 || app.fork_server_spares > 1)
    throw option_error("fork-server-spares: " + std::to_string(app.fork_server_spares) +
                       " is not 0 or 1");
  app.fork_server_prefork = vm["fork-server-prefork"].as<bool>();
  app.fork_server_warm_up = strings(vm, "fork-server-warm-up");
  for (const std::string& w : app.fork_server_warm_up)
    if (w.find(':') == std::string::npos || w.front() == ':' || w.back() == ':')
      throw option_error("fork-server-warm-up: '" + w + "' is not MODULE:FUNC");
  app.early_python = vm["early-python"].as<bool>();
  app.early_imports = strings(vm, "early-pyimport");
  app.early_pythonpath = strings(vm, "early-pythonpath");
  apply_process_app_options(vm, app);
  return app;
}

}  // namespace brood::cli

#pragma once
// Python inside a node. No pybind11 here: the CLI includes this header.
// The host starts the interpreter in the master, loads the application once before the workers
// fork (or in each worker with lazy-apps), and answers on the node's router:
//   modifier1 0 and 30   WSGI (PEP 3333), the reply raw HTTP as uWSGI writes it
//   modifier1 33         uwsgi.message_manager_marshal(obj, modifier2)
//   modifier1 173        RPC functions registered with uwsgi.register_rpc(name, fn)
// and, in the node's spooler processes, runs tasks with the uwsgi.spooler callable.
// Inside the node `import uwsgi` gives the uwsgi compatibility module (brood.uwsgi); with the
// node's config, uwsgi.spool writes into its spooler (and spooler-external) dirs.
#include <memory>
#include <string>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/node.hpp"
#include "brood/node/router.hpp"

namespace brood::python {

struct app_options {
  std::vector<std::string> modules;      // module / -w: "pkg.mod" or "pkg.mod:callable"
  std::string wsgi_file;                 // wsgi-file / file: a path to a .py file
  std::string callable = "application";  // callable: the WSGI callable's name
  std::vector<std::string> pythonpath;   // pythonpath / pp: added to sys.path
  bool lazy_apps = false;                // lazy-apps: load in each worker after fork
  bool need_app = false;                 // need-app: no application loaded is a failure
  std::vector<std::string> mounts;       // mount MOUNTPOINT=APP: WSGI apps per SCRIPT_NAME
  bool manage_script_name = false;       // manage-script-name: mount chosen by PATH_INFO
  std::string virtualenv;                // virtualenv / home: Python's home ("": default)
  std::string fork_server;               // fork-server PATH: this node is a fork-server base
  int fork_server_spares = 1;            // fork-server-spares: 0 or 1 warm spares
  bool fork_server_prefork = true;       // fork-server-prefork: the spare pre-forks worker 1
  std::vector<std::string> fork_server_warm_up;  // fork-server-warm-up MODULE:FUNC, in order
  bool early_python = false;               // early-python: the interpreter before chdir/env/umask
  std::vector<std::string> early_imports;  // early-pyimport: imported before the app
  std::vector<std::string> early_pythonpath;  // early-pythonpath: on sys.path before pythonpath

  bool wanted() const {
    return !modules.empty() || !wsgi_file.empty() || !mounts.empty() || !fork_server.empty() ||
           early_python || !early_imports.empty();
  }
};

class host {
 public:
  // Starts the interpreter and, unless lazy_apps, loads the application now. Throws
  // std::runtime_error with the Python traceback text when loading fails, and with need_app
  // when no WSGI callable was found. The early-pyimport modules are imported first.
  // When Python already runs in this process (an adopted vassal of a fork-server base,
  // fork_base.hpp) the host joins that interpreter instead (REQUIRES: this thread holds the
  // GIL): the pythonpath folders go in front of sys.path, os.environ is read again from the
  // process's environment, virtualenv is logged and ignored, imported modules and an executed
  // wsgi-file are reused (app_loader), and the host never finalizes it.
  host(const app_options& opts, node::router& r);
  // The same, for the node `cfg` describes: uwsgi.spool and the spooler functions of the uwsgi
  // module use its spooler dirs (a dir that cannot be created or resolved: std::system_error),
  // and hooks() runs Python in its spooler processes.
  host(const app_options& opts, node::router& r, const node::node_config& cfg);
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  // Fork safety (and lazy loading) for run_node; with a spooler config, spooler_start (lazy
  // loading, uwsgi.i_am_the_spooler()) and spooler (the uwsgi.spooler callable) too.
  node::node_hooks hooks();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace brood::python

#pragma once
// Python inside a node. No pybind11 here: the CLI includes this header.
// The host starts the interpreter in the master, loads the application once before the workers
// fork (or in each worker with lazy-apps), and answers on the node's router:
//   modifier1 0 and 30   WSGI (PEP 3333), the reply raw HTTP as uWSGI writes it
//   modifier1 33         uwsgi.message_manager_marshal(obj, modifier2)
//   modifier1 173        RPC functions registered with uwsgi.register_rpc(name, fn)
// Inside the node `import uwsgi` gives the uwsgi compatibility module (brood.uwsgi).
#include <memory>
#include <string>
#include <vector>

#include "brood/node/node.hpp"
#include "brood/node/router.hpp"

namespace brood::python {

struct app_options {
  std::vector<std::string> modules;      // module / -w: "pkg.mod" or "pkg.mod:callable"
  std::string wsgi_file;                 // wsgi-file / file: a path to a .py file
  std::string callable = "application";  // callable: the WSGI callable's name
  std::vector<std::string> pythonpath;   // pythonpath / pp: added to sys.path
  bool lazy_apps = false;                // lazy-apps: load in each worker after fork

  bool wanted() const { return !modules.empty() || !wsgi_file.empty(); }
};

class host {
 public:
  // Starts the interpreter and, unless lazy_apps, loads the application now. Throws
  // std::runtime_error with the Python traceback text when loading fails.
  host(const app_options& opts, node::router& r);
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  // Fork safety (and lazy loading) for run_node.
  node::node_hooks hooks();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace brood::python

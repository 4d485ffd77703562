#pragma once
// The Python side of a fork-server base (docs/uwsgi-compat.md §17; the serve loop:
// brood/node/fork_server.hpp). The base starts the interpreter, runs the early imports, loads the
// application once (modules, wsgi-file, mounts) and freezes the garbage collector's objects
// (gc.freeze(): the forked vassals then share those pages instead of copying them when the
// collector touches them), then forks adopted vassals with hooks() around each fork.
// In an adopted vassal the interpreter goes on: python::host joins it (host.hpp), a module the
// base imported comes from sys.modules and its WSGI file is not executed again.
// No pybind11 here: the CLI includes this header.
#include <memory>

#include "brood/node/fork_server.hpp"
#include "brood/python/host.hpp"

namespace brood::python {

class fork_base {
 public:
  // Starts the interpreter (early-pythonpath then pythonpath on sys.path, virtualenv) and imports
  // the early-pyimport modules; ends with the GIL released. Throws std::runtime_error with the
  // Python traceback. REQUIRES: no interpreter is running in this process.
  explicit fork_base(const app_options& opts);
  // In the base: finalizes the interpreter. In an adopted vassal: nothing (the process ends
  // without finalizing, as every forked child of a node does).
  ~fork_base();
  fork_base(const fork_base&) = delete;
  fork_base& operator=(const fork_base&) = delete;

  // Loads the application (unless lazy-apps: then each adopted vassal loads it) and calls
  // gc.freeze(). Logs what it loaded. Throws std::runtime_error with the traceback.
  void load();

  // Python's fork protocol around the serve loop's forks: the GIL taken and PyOS_BeforeFork
  // before, PyOS_AfterFork_Parent and the GIL released after in the base; PyOS_AfterFork_Child
  // in the adopted vassal, which then holds the GIL for the host that joins the interpreter.
  node::fork_server_hooks hooks();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace brood::python

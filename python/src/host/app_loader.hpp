#pragma once
// Loading the application of a node: the modules (`module` / -w) and the WSGI file (`wsgi-file`).
//   "pkg.mod"        imported; its attribute <callable> (default "application") is the WSGI app
//                    when it has one; a module without it is fine (a message or RPC node)
//   "pkg.mod:app"    imported; its attribute `app` must exist and be callable
//   wsgi-file PATH   executed as a module named after the path (once per process and absolute
//                    path); <callable> is the WSGI app when it has one
// The first WSGI callable found (modules in order, then the file) serves modifier1 0 and 30.
// REQUIRES: the GIL is held.
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>

#include "brood/python/host.hpp"

namespace brood::python {

namespace py = pybind11;

// early-pyimport: imports each module (one already in sys.modules, as in an adopted vassal of
// a fork-server base, is not imported again). Throws py::error_already_set as load_application.
void import_early(const app_options& opts);

// Puts `dirs` at the front of sys.path, in order, skipping those already on it (an adopted
// vassal's pythonpath on its base's interpreter).
void prepend_path(const std::vector<std::string>& dirs);

// Loads everything; returns the WSGI callable or None. A module already imported comes from
// sys.modules, a WSGI file already executed (the same absolute path) is reused: an adopted
// vassal of a fork-server base finds its base's application loaded. Throws py::error_already_set
// when a module cannot be imported (ImportError, SyntaxError, anything its code raises) or a named
// callable is missing or not callable.
py::object load_application(const app_options& opts);

// mount MOUNTPOINT=APP (opts.mounts, in order): APP is a WSGI file when it ends in .py or
// .wsgi or names a path (has a '/'), else a module ("pkg.mod" or "pkg.mod:callable"); each
// must give a WSGI callable. Returns the mountpoints (without a trailing '/') and the
// callables, index by index. Throws py::error_already_set as load_application, and for a
// mount without a callable or without '='.
std::pair<std::vector<std::string>, std::vector<py::object>> load_mounts(const app_options& opts);

}  // namespace brood::python

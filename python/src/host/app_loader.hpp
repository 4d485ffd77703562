#pragma once
// Loading the application of a node: the modules (`module` / -w) and the WSGI file (`wsgi-file`).
//   "pkg.mod"        imported; its attribute <callable> (default "application") is the WSGI app
//                    when it has one; a module without it is fine (a message or RPC node)
//   "pkg.mod:app"    imported; its attribute `app` must exist and be callable
//   wsgi-file PATH   executed as a module named after the path; <callable> is the WSGI app when
//                    it has one
// The first WSGI callable found (modules in order, then the file) serves modifier1 0 and 30.
// REQUIRES: the GIL is held.
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>

#include "brood/python/host.hpp"

namespace brood::python {

namespace py = pybind11;

// Loads everything; returns the WSGI callable or None. Throws py::error_already_set when a
// module cannot be imported (ImportError, SyntaxError, anything its code raises) or a named
// callable is missing or not callable.
py::object load_application(const app_options& opts);

// mount MOUNTPOINT=APP (opts.mounts, in order): APP is a WSGI file when it ends in .py or
// .wsgi or names a path (has a '/'), else a module ("pkg.mod" or "pkg.mod:callable"); each
// must give a WSGI callable. Returns the mountpoints (without a trailing '/') and the
// callables, index by index. Throws py::error_already_set as load_application, and for a
// mount without a callable or without '='.
std::pair<std::vector<std::string>, std::vector<py::object>> load_mounts(const app_options& opts);

}  // namespace brood::python

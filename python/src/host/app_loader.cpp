// Importing the node's modules and WSGI file, and finding the WSGI callable.
#include "app_loader.hpp"

#include <string>
#include <string_view>

#include "interpreter.hpp"

namespace brood::python {
namespace {

// A module name for a WSGI file, as uWSGI names it: "uwsgi_file_" + the path with every
// character that cannot appear in an identifier replaced by '_'.
std::string file_module_name(const std::string& path) {
  std::string name = "uwsgi_file_";
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += ok ? c : '_';
  }
  return name;
}

[[noreturn]] void raise_error(PyObject* type, const std::string& message) {
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

// The attribute `name` of `mod` when it is callable. Missing: None, or an AttributeError when
// `required`. Present but not callable: a TypeError.
py::object find_callable(py::handle mod, const std::string& where, const std::string& name,
                         bool required) {
  py::object obj = py::getattr(mod, name.c_str(), py::none());
  if (obj.is_none()) {
    if (required) raise_error(PyExc_AttributeError, where + " has no attribute '" + name + "'");
    return py::none();
  }
  if (!PyCallable_Check(obj.ptr()))
    raise_error(PyExc_TypeError, where + "." + name + " is not callable");
  return obj;
}

py::object load_module(const std::string& spec, const std::string& default_callable) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  py::module_ mod = py::module_::import(name.c_str());  // tracebacks without importlib frames
  if (colon == std::string::npos) return find_callable(mod, name, default_callable, false);
  return find_callable(mod, name, spec.substr(colon + 1), true);
}

// The attribute a loaded WSGI file's module keeps its absolute path in (reuse by load_file).
constexpr const char* file_path_attr = "__brood_wsgi_file__";

py::object load_file(const std::string& path, const std::string& callable) {
  py::module_ util = py::module_::import("importlib.util");
  const std::string name = file_module_name(path);
  py::object absolute = py::module_::import("os").attr("path").attr("abspath")(path);
  py::object loaded = py::module_::import("sys").attr("modules").attr("get")(name);
  if (!loaded.is_none() && py::getattr(loaded, file_path_attr, py::none()).equal(absolute))
    return find_callable(loaded, path, callable, false);  // a fork-server base's: kept
  py::object spec = util.attr("spec_from_file_location")(name, path);
  if (spec.is_none()) raise_error(PyExc_ImportError, "cannot load WSGI file '" + path + "'");
  py::object mod = util.attr("module_from_spec")(spec);
  py::module_::import("sys").attr("modules")[name.c_str()] = mod;
  mod.attr(file_path_attr) = absolute;
  spec.attr("loader").attr("exec_module")(mod);
  return find_callable(mod, path, callable, false);
}

bool names_a_file(const std::string& app) {
  auto ends = [&](std::string_view tail) {
    return app.size() >= tail.size() &&
           app.compare(app.size() - tail.size(), tail.size(), tail) == 0;
  };
  return ends(".py") || ends(".wsgi") || app.find('/') != std::string::npos;
}

}  // namespace

std::pair<std::vector<std::string>, std::vector<py::object>> load_mounts(const app_options& opts) {
  std::pair<std::vector<std::string>, std::vector<py::object>> out;
  for (const std::string& mount : opts.mounts) {
    const auto eq = mount.find('=');
    if (eq == std::string::npos)
      raise_error(PyExc_ValueError, "mount '" + mount + "': expected MOUNTPOINT=APP");
    std::string point = mount.substr(0, eq);
    while (!point.empty() && point.back() == '/') point.pop_back();
    const std::string app = mount.substr(eq + 1);
    py::object found =
        names_a_file(app) ? load_file(app, opts.callable) : load_module(app, opts.callable);
    if (found.is_none())
      raise_error(PyExc_AttributeError,
                  "mount '" + mount + "': no callable '" + opts.callable + "'");
    out.first.push_back(std::move(point));
    out.second.push_back(std::move(found));
  }
  return out;
}

void import_early(const app_options& opts) {
  for (const std::string& name : opts.early_imports) py::module_::import(name.c_str());
}

void prepend_path(const std::vector<std::string>& dirs) {
  py::module_ sys = imported_module("sys");
  py::list path = sys.attr("path");
  py::list front;
  for (const std::string& d : dirs) {
    py::str entry(d);
    if (!path.contains(entry) && !front.contains(entry)) front.append(entry);
  }
  for (py::handle entry : path) front.append(entry);
  sys.attr("path") = front;
}

py::object load_application(const app_options& opts) {
  py::object app = py::none();
  for (const std::string& spec : opts.modules) {
    py::object found = load_module(spec, opts.callable);
    if (app.is_none()) app = found;
  }
  if (!opts.wsgi_file.empty()) {
    py::object found = load_file(opts.wsgi_file, opts.callable);
    if (app.is_none()) app = found;
  }
  return app;
}

}  // namespace brood::python

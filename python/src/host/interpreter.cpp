// Starting the embedded interpreter and wiring `brood`, `brood._brood` and `uwsgi` into it.
#include "interpreter.hpp"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <pybind11/embed.h>

#include "brood/os/log.hpp"
#include "core/module_def.hpp"
#include "py_error.hpp"

#ifndef BROOD_PYTHON_BUILD_DIR
#define BROOD_PYTHON_BUILD_DIR ""
#endif
#ifndef BROOD_PYTHON_INSTALL_DIR
#define BROOD_PYTHON_INSTALL_DIR ""
#endif

namespace brood::python {
namespace {

// The folder that holds the `brood` package: the build tree when this binary was built there
// and the tree still exists, else the install location.
std::string package_parent_dir() {
  std::error_code ec;
  const std::filesystem::path built(BROOD_PYTHON_BUILD_DIR);
  if (!built.empty() && std::filesystem::exists(built / "brood" / "__init__.py", ec))
    return built.string();
  return BROOD_PYTHON_INSTALL_DIR;
}

// Py_InitializeFromConfig with a regular Python configuration (environment variables honoured,
// site-packages on the path) minus signal handlers and stdio buffering.
void initialize(const std::string& home) {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  if (!home.empty()) {
    // Python as the venv's interpreter: its pyvenv.cfg makes sys.prefix the venv and puts its
    // site-packages on sys.path (a home that is a full Python installation works the same way).
    const std::string program = home + "/bin/python3";
    PyStatus st = PyConfig_SetBytesString(&config, &config.program_name, program.c_str());
    if (PyStatus_Exception(st)) {
      PyConfig_Clear(&config);
      throw std::runtime_error("cannot use the virtualenv " + home);
    }
    os::log("Set PythonHome to ", home);
  }
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  config.buffered_stdio = 0;
  const char* argv[] = {"brood"};
  try {
    py::initialize_interpreter(&config, 1, argv, false);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot start the Python interpreter: ") + e.what());
  }
}

void set_path(const std::vector<std::string>& pythonpath) {
  py::module_ sys = py::module_::import("sys");
  py::list path = sys.attr("path");
  py::list front;
  for (const std::string& p : pythonpath) front.append(p);
  front.append(py::module_::import("os").attr("getcwd")());
  for (py::handle entry : path) front.append(entry);
  if (std::string parent = package_parent_dir(); !parent.empty()) front.append(parent);
  sys.attr("path") = front;
}

// The native module under the name the package imports, created in this binary (so the
// extension file next to the package is never loaded into a node).
void install_native_module() {
  static py::module_::module_def def;
  py::module_ native = py::module_::create_extension_module("brood._brood", nullptr, &def);
  define_module(native);
  py::module_::import("sys").attr("modules")["brood._brood"] = native;
}

void install_uwsgi_alias() {
  py::module_ uwsgi = py::module_::import("brood.uwsgi");
  py::module_::import("sys").attr("modules")["uwsgi"] = uwsgi;
}

}  // namespace

void start_interpreter(const std::vector<std::string>& pythonpath, const std::string& home) {
  initialize(home);
  try {
    set_path(pythonpath);
    install_native_module();
    install_uwsgi_alias();
  } catch (const py::error_already_set& e) {
    std::string text = traceback_text(e);
    throw std::runtime_error("cannot set up the brood Python package:\n" + text);
  }
}

py::module_ imported_module(const char* name) {
  const py::str key(name);
  if (PyObject* m = PyImport_GetModule(key.ptr())) return py::reinterpret_steal<py::module_>(m);
  if (PyErr_Occurred()) throw py::error_already_set();
  return py::module_::import(name);
}

// os.environ._data maps the environment's bytes to bytes on POSIX (os.py: encodekey and
// encodevalue are str.encode(filesystem encoding, "surrogateescape"), the inverse of how
// os.environ decodes them), so the raw bytes are what encodekey/encodevalue would give.
void sync_os_environ() {
  py::dict data = imported_module("os").attr("environ").attr("_data");
  data.clear();
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr || eq == *e) continue;
    py::bytes key(*e, static_cast<std::size_t>(eq - *e));
    py::bytes value(eq + 1, std::strlen(eq + 1));
    if (PyDict_SetItem(data.ptr(), key.ptr(), value.ptr()) != 0) throw py::error_already_set();
  }
}

py::module_ uwsgi_module() { return imported_module("brood.uwsgi"); }

void stop_interpreter() noexcept {
  try {
    py::finalize_interpreter();
  } catch (...) {
  }
}

}  // namespace brood::python

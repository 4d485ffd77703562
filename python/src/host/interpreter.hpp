#pragma once
// The interpreter embedded in a node process, and what its Python code finds there:
//   sys.path  = the pythonpath options, the current directory (as uWSGI), then the usual
//               entries, then the folder holding the `brood` package (build tree or install)
//   sys.modules["brood._brood"]  the native module, built into this binary
//   sys.modules["uwsgi"]         brood.uwsgi, so that plain `import uwsgi` works
// Signals are left to the node (Python installs no handler); stdout/stderr are unbuffered.
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

namespace brood::python {

namespace py = pybind11;

// Starts the interpreter in this process and prepares the modules above. On return this
// thread holds the GIL. Throws std::runtime_error (with the Python traceback) when the
// interpreter or the `brood` package cannot be set up. REQUIRES: no interpreter is running.
// `home` (virtualenv): Python's home (PYTHONHOME), so the venv's site-packages are on sys.path
// as uWSGI sets it up; "" for the default.
void start_interpreter(const std::vector<std::string>& pythonpath, const std::string& home = {});

// The module `name`: sys.modules[name] when it is imported already (no trip through
// __import__ and importlib), else imported. REQUIRES: the GIL is held. Throws
// py::error_already_set.
py::module_ imported_module(const char* name);

// The module brood.uwsgi (the object `import uwsgi` gives). REQUIRES: start_interpreter ran,
// the GIL is held.
py::module_ uwsgi_module();

// os.environ read again from this process's environment (an adopted vassal's environment was
// changed by the fork server and its env options after the base's interpreter took its copy):
// its bytes keys and values (POSIX) set from the environment's bytes as they are.
// REQUIRES: the GIL is held. Throws py::error_already_set.
void sync_os_environ();

// Finalizes the interpreter (atexit handlers run). REQUIRES: the GIL is held by this thread and
// no py::object of ours is alive.
void stop_interpreter() noexcept;

}  // namespace brood::python

// Traceback text and exception names for Python errors raised inside a node.
#include "py_error.hpp"

#include "brood/node/router.hpp"
#include "brood/os/log.hpp"

namespace brood::python {
namespace {

std::string str_or_empty(py::handle h) {
  try {
    return py::str(h).cast<std::string>();
  } catch (const py::error_already_set&) {
    return {};
  }
}

}  // namespace

std::string exception_type_name(py::handle type) {
  try {
    std::string qualname = py::getattr(type, "__qualname__").cast<std::string>();
    std::string module = py::getattr(type, "__module__", py::str("")).cast<std::string>();
    if (module.empty() || module == "builtins") return qualname;
    return module + "." + qualname;
  } catch (const std::exception&) {
    return "Exception";
  }
}

std::string exception_message(const py::error_already_set& e) {
  return e.value() ? str_or_empty(e.value()) : std::string();
}

std::string traceback_text(const py::error_already_set& e) {
  try {
    py::object lines =
        py::module_::import("traceback").attr("format_exception")(e.type(), e.value(), e.trace());
    return py::str("").attr("join")(lines).cast<std::string>();
  } catch (const std::exception&) {
    return exception_type_name(e.type()) + ": " + exception_message(e) + "\n";
  }
}

void log_python_error(const py::error_already_set& e, std::string_view what) {
  os::log(what, " failed:\n", traceback_text(e));
}

void rethrow_as_handler_error(const py::error_already_set& e, std::string_view what) {
  log_python_error(e, what);
  throw node::handler_error(exception_type_name(e.type()), exception_message(e));
}

}  // namespace brood::python

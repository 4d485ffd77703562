#pragma once
// Python exceptions at the edge of the node: their traceback text for the log, and the
// node::handler_error that turns them into a failure reply. REQUIRES: the GIL is held.
#include <string>
#include <string_view>

#include <pybind11/pybind11.h>

namespace brood::python {

namespace py = pybind11;

// "Traceback (most recent call last):\n ... ValueError: bad", as the traceback module prints it
// (without the final newline). Never throws (falls back to "Type: message").
std::string traceback_text(const py::error_already_set& e);

// The name a remote caller sees for an exception type: "ValueError" for builtins, else
// "module.QualName" ("myapp.errors.Invalid").
std::string exception_type_name(py::handle type);

// str(exception), or "" when that fails.
std::string exception_message(const py::error_already_set& e);

// Logs "<what> failed:\n<traceback>" and throws node::handler_error(type name, message).
[[noreturn]] void rethrow_as_handler_error(const py::error_already_set& e, std::string_view what);

// Logs "<what> failed:\n<traceback>" (the error stays handled).
void log_python_error(const py::error_already_set& e, std::string_view what);

}  // namespace brood::python

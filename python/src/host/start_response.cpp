// start_response and write() of a WSGI request.
#include "start_response.hpp"

#include "brood/os/log.hpp"

namespace brood::python {
namespace {

[[noreturn]] void raise(PyObject* type, const char* message) {
  PyErr_SetString(type, message);
  throw py::error_already_set();
}

// Appends the latin-1 bytes of a native string (or the bytes of a bytes object) to `out`.
void append_latin1(std::string& out, py::handle s, const char* what) {
  if (PyBytes_Check(s.ptr())) {
    out.append(PyBytes_AS_STRING(s.ptr()), static_cast<std::size_t>(PyBytes_GET_SIZE(s.ptr())));
    return;
  }
  if (!PyUnicode_Check(s.ptr())) {
    PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(s.ptr())->tp_name);
    throw py::error_already_set();
  }
  if (PyUnicode_IS_COMPACT_ASCII(s.ptr())) {
    Py_ssize_t n = 0;
    const char* data = PyUnicode_AsUTF8AndSize(s.ptr(), &n);
    out.append(data, static_cast<std::size_t>(n));
    return;
  }
  py::object encoded = py::reinterpret_steal<py::object>(PyUnicode_AsLatin1String(s.ptr()));
  if (!encoded) throw py::error_already_set();
  out.append(PyBytes_AS_STRING(encoded.ptr()),
             static_cast<std::size_t>(PyBytes_GET_SIZE(encoded.ptr())));
}

void append_headers(std::string& out, py::handle headers) {
  for (py::handle item : headers) {
    if (!PyTuple_Check(item.ptr()) || PyTuple_GET_SIZE(item.ptr()) != 2)
      raise(PyExc_TypeError, "each response header must be a (name, value) tuple");
    append_latin1(out, PyTuple_GET_ITEM(item.ptr(), 0), "a header name");
    out += ": ";
    append_latin1(out, PyTuple_GET_ITEM(item.ptr(), 1), "a header value");
    out += "\r\n";
  }
}

// Re-raises the exception of an exc_info tuple (type, value, traceback).
[[noreturn]] void reraise(py::handle exc_info) {
  py::object type = exc_info[py::int_(0)];
  py::object value = exc_info[py::int_(1)];
  py::object trace = exc_info[py::int_(2)];
  PyErr_Restore(type.release().ptr(), value.release().ptr(), trace.release().ptr());
  throw py::error_already_set();
}

py::object call(py::object self, py::handle status, py::handle headers, py::handle exc_info) {
  wsgi_response& r = response_of(self);
  if (r.started) {
    if (exc_info.is_none()) raise(PyExc_RuntimeError, "start_response() called twice");
    if (r.body_started()) reraise(exc_info);
  }
  std::string new_status, new_headers;
  append_latin1(new_status, status, "the status");
  append_headers(new_headers, headers);
  r.status = std::move(new_status);
  r.headers = std::move(new_headers);
  r.started = true;
  return self.attr("write");
}

void write(wsgi_response& r, py::handle data) {
  if (!r.started) raise(PyExc_RuntimeError, "write() called before start_response()");
  if (!PyBytes_Check(data.ptr()) && !PyByteArray_Check(data.ptr())) {
    PyErr_Format(PyExc_TypeError, "write() takes bytes, not %.100s", Py_TYPE(data.ptr())->tp_name);
    throw py::error_already_set();
  }
  append_body_chunk(r, data);
}

}  // namespace

void define_start_response(py::module_& m) {
  py::class_<wsgi_response>(m, "StartResponse")
      .def("__call__", &call, py::arg("status"), py::arg("response_headers"),
           py::arg("exc_info") = py::none())
      .def("write", &write, py::arg("data"));
}

void install_host_module() {
  if (py::module_::import("sys").attr("modules").contains("brood._host")) return;
  static py::module_::module_def def;
  py::module_ internal = py::module_::create_extension_module("brood._host", nullptr, &def);
  define_start_response(internal);
  py::module_::import("sys").attr("modules")["brood._host"] = internal;
}

py::object new_start_response() { return py::cast(wsgi_response{}); }

wsgi_response& response_of(py::handle start_response) {
  return start_response.cast<wsgi_response&>();
}

void append_body_chunk(wsgi_response& r, py::handle chunk) {
  PyObject* c = chunk.ptr();
  if (PyBytes_Check(c)) {
    r.body.append(PyBytes_AS_STRING(c), static_cast<std::size_t>(PyBytes_GET_SIZE(c)));
  } else if (PyByteArray_Check(c)) {
    r.body.append(PyByteArray_AS_STRING(c), static_cast<std::size_t>(PyByteArray_GET_SIZE(c)));
  } else if (c != Py_None) {
    std::string text = py::repr(chunk).cast<std::string>();
    os::log("[ERROR] Unhandled object from iterator: ", text);
  }
}

}  // namespace brood::python

#include "errors.hpp"

#include <initializer_list>
#include <string>

namespace brood::python {
namespace {

namespace py = pybind11;
using client::call_errc;

// The classes, created once by define_errors and kept for the life of the process (never freed:
// they must outlive every module object and interpreter shutdown order does not matter then).
struct error_classes {
  PyObject* error = nullptr;
  PyObject* timeout = nullptr;
  PyObject* connection = nullptr;
  PyObject* refused = nullptr;
  PyObject* protocol = nullptr;
  PyObject* remote = nullptr;
  PyObject* request = nullptr;
};
error_classes* classes = nullptr;

PyObject* new_class(const char* name, std::initializer_list<PyObject*> bases, const char* doc) {
  PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(bases.size()));
  if (tuple == nullptr) throw py::error_already_set();
  Py_ssize_t i = 0;
  for (PyObject* b : bases) {
    Py_INCREF(b);
    PyTuple_SET_ITEM(tuple, i++, b);
  }
  PyObject* cls = PyErr_NewExceptionWithDoc(name, doc, tuple, nullptr);
  Py_DECREF(tuple);
  if (cls == nullptr) throw py::error_already_set();
  return cls;
}

error_classes* make_classes() {
  auto* c = new error_classes;
  c->error = new_class("brood.Error", {PyExc_Exception}, "Base class of every brood call failure.");
  c->timeout = new_class("brood.TimeoutError", {c->error, PyExc_TimeoutError},
                         "No complete answer within the call's timeout.");
  c->connection = new_class("brood.ConnectionError", {c->error, PyExc_ConnectionError},
                            "The connection broke in the middle of a call.");
  c->refused =
      new_class("brood.ConnectionRefusedError", {c->connection, PyExc_ConnectionRefusedError},
                "The node refused the connection, or its address cannot be reached.");
  c->protocol = new_class("brood.ProtocolError", {c->error},
                          "The node answered something that is not a valid reply.");
  c->remote = new_class("brood.RemoteError", {c->error},
                        "The node answered a failure: its handler raised. Attributes: type (the "
                        "remote exception's type name), message (its message), address.");
  c->request = new_class("brood.RequestError", {c->error, PyExc_ValueError},
                         "The call could not be made: its message is over 65535 bytes once "
                         "encoded, or the address is malformed.");
  return c;
}

PyObject* class_for(const client::call_error& e) {
  if (e.code.category() != client::call_category()) return classes->error;
  switch (static_cast<client::call_errc>(e.code.value())) {
    case client::call_errc::timeout:
      return classes->timeout;
    case client::call_errc::refused:
      return classes->refused;
    case client::call_errc::protocol:
      return classes->protocol;
    case client::call_errc::remote:
      return classes->remote;
    case client::call_errc::io:
      return classes->connection;
    case client::call_errc::bad_request:
      return classes->request;
    case client::call_errc::interrupted:
      return classes->error;  // only when no Python signal handler raised (raise_call_error)
  }
  return classes->error;
}

// Text from the network as str; invalid UTF-8 from a foreign node is replaced, never fatal.
py::object text_of(std::string_view s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

}  // namespace

void define_errors(py::module_& m) {
  if (classes == nullptr) classes = make_classes();
  m.attr("Error") = py::handle(classes->error);
  m.attr("TimeoutError") = py::handle(classes->timeout);
  m.attr("ConnectionError") = py::handle(classes->connection);
  m.attr("ConnectionRefusedError") = py::handle(classes->refused);
  m.attr("ProtocolError") = py::handle(classes->protocol);
  m.attr("RemoteError") = py::handle(classes->remote);
  m.attr("RequestError") = py::handle(classes->request);
}

py::object error_object(const client::call_error& e, std::string_view address) {
  PyObject* cls = class_for(e);
  bool remote = cls == classes->remote;
  std::string text =
      remote ? e.remote_type + ": " + e.remote_message + " (from " + std::string(address) + ")"
             : e.message;
  py::object exc = py::handle(cls)(text_of(text));
  exc.attr("address") = text_of(address);
  if (remote) {
    exc.attr("type") = text_of(e.remote_type);
    exc.attr("message") = text_of(e.remote_message);
  }
  return exc;
}

void raise_call_error(const client::call_error& e, std::string_view address) {
  if (PyErr_Occurred()) throw py::error_already_set();  // a signal handler's (KeyboardInterrupt)
  py::object exc = error_object(e, address);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

}  // namespace brood::python

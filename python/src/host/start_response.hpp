#pragma once
// The start_response callable of one WSGI request (PEP 3333) and the response it collects.
// Python sees an object of type brood._host.StartResponse:
//   start_response(status, response_headers, exc_info=None) -> write
//   write(data)  appends bytes to the body
// Nothing reaches the socket before the application is done: brood sends the whole response at
// once, so "headers sent" means "some body bytes were produced" (then a second call with
// exc_info re-raises it, as PEP 3333 asks). REQUIRES: the GIL is held.
#include <string>

#include <pybind11/pybind11.h>

namespace brood::python {

namespace py = pybind11;

struct wsgi_response {
  bool started = false;  // start_response was called
  std::string status;    // "200 OK" (latin-1 bytes)
  std::string headers;   // "Name: value\r\n" for each header, in order
  std::string body;      // bytes written with write() and produced by the iterable

  bool body_started() const noexcept { return !body.empty(); }
};

// Adds the StartResponse type to `m`. REQUIRES: called once per interpreter.
void define_start_response(py::module_& m);

// Installs the private module brood._host (holding the StartResponse type) in sys.modules,
// unless it is there already: a fork-server base installs it once (fork_base::load), so that its
// adopted vassals find it on shared pages instead of creating the type after the request.
// REQUIRES: the GIL is held.
void install_host_module();

// A new StartResponse object with an empty response.
py::object new_start_response();

// The response collected by an object from new_start_response().
wsgi_response& response_of(py::handle start_response);

// Appends a body chunk the way uWSGI takes it: bytes and bytearray are appended, None is
// ignored, anything else is logged ("Unhandled object from iterator") and skipped.
void append_body_chunk(wsgi_response& r, py::handle chunk);

}  // namespace brood::python

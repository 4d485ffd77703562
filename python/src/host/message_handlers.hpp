#pragma once
// The Python answers to marshalled messages (modifier1 33) and RPC (modifier1 173).
//
// 33: uwsgi.message_manager_marshal(obj, modifier2), looked up on every message (the application
//     may assign it at any time). None: a failure reply of type "brood.NoHandler". An exception:
//     its traceback is logged and the caller gets a remote error with its type and message.
//
// 173: the payload is a uwsgi array [name, arg...]; the function registered under `name` with
//     uwsgi.register_rpc (the dict brood.uwsgi._rpc_functions: name -> (fn, argc)) is called
//     with the args as bytes.
//     Replies as uWSGI 2.0.21 (docs/protocol.md, "173: RPC"):
//       modifier2 0       [173, size, 0] + the returned bytes (a str is sent as UTF-8)
//       modifier2 2, 3    (HTTP, XML-RPC) not supported: no reply
//       any other         the returned bytes alone (raw)
//     then the connection is closed, as uWSGI closes it.
//     An unknown function, an exception (traceback logged), a result that is not bytes, an empty
//     result or one over 65535 bytes: no reply, the connection is closed (the caller's
//     uwsgi.rpc() returns None).
// Both take the GIL. Not thread-safe beyond that: one process serves one request at a time.
#include <optional>
#include <string_view>
#include <vector>

#include <pybind11/pybind11.h>

#include "brood/node/router.hpp"
#include "brood/wire/limits.hpp"
#include "brood/wire/value.hpp"

namespace brood::python {

namespace py = pybind11;

// Hidden like the pybind11 objects it holds (the library is built with default visibility).
class __attribute__((visibility("hidden"))) message_handlers {
 public:
  // REQUIRES: the GIL is held; `uwsgi` is the module brood.uwsgi.
  message_handlers(py::module_ uwsgi, wire::limits lim);
  // Drops the Python objects. REQUIRES: the GIL is held.
  void clear();

  wire::value marshal(const wire::value& message, std::uint8_t modifier2);
  std::optional<node::reply> rpc(const node::request& r);

 private:
  std::optional<node::reply> call_rpc(const std::vector<std::string_view>& items,
                                      std::uint8_t modifier2);

  py::module_ uwsgi_;
  py::object marshal_name_;    // "message_manager_marshal"
  py::object functions_name_;  // "_rpc_functions"
  wire::limits limits_;
};

}  // namespace brood::python

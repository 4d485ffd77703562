// message_manager_marshal (modifier1 33) and RPC (modifier1 173) inside a node.
#include "message_handlers.hpp"

#include <string>
#include <utility>

#include "brood/os/log.hpp"
#include "brood/wire/array.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/modifier.hpp"
#include "core/convert.hpp"
#include "py_error.hpp"
#include "request_gil.hpp"

namespace brood::python {
namespace {

constexpr std::size_t max_payload = 65535;

// modifier2 of an RPC request (docs/protocol.md §9); every other value answers raw, as uWSGI.
enum class rpc_modifier2 : std::uint8_t { framed = 0, raw = 1, http = 2, xmlrpc = 3 };

constexpr std::uint8_t to_byte(rpc_modifier2 m) { return static_cast<std::uint8_t>(m); }

py::object interned(const char* s) {
  PyObject* o = PyUnicode_InternFromString(s);
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

// The bytes an RPC function returned: bytes as they are, str as UTF-8. False for anything else.
bool result_bytes(py::handle result, std::string_view& out, py::object& keep) {
  if (PyUnicode_Check(result.ptr())) {
    keep = py::reinterpret_steal<py::object>(PyUnicode_AsUTF8String(result.ptr()));
    if (!keep) throw py::error_already_set();
    result = keep;
  }
  if (PyBytes_Check(result.ptr())) {
    out = {PyBytes_AS_STRING(result.ptr()),
           static_cast<std::size_t>(PyBytes_GET_SIZE(result.ptr()))};
    return true;
  }
  if (PyByteArray_Check(result.ptr())) {
    out = {PyByteArray_AS_STRING(result.ptr()),
           static_cast<std::size_t>(PyByteArray_GET_SIZE(result.ptr()))};
    return true;
  }
  return false;
}

// The answer, framed ([173, size, 0] + data) or raw; either way the connection closes after it,
// as uWSGI closes it (a raw answer ends where the stream ends).
node::reply rpc_reply(std::string_view data, std::uint8_t modifier2) {
  node::reply out;
  out.keep_alive = false;
  if (modifier2 != to_byte(rpc_modifier2::framed)) {
    out.data.assign(data.begin(), data.end());
    return out;
  }
  wire::append_packet(out.data, wire::to_byte(wire::modifier1::rpc), modifier2,
                      wire::as_bytes(data));
  return out;
}

}  // namespace

message_handlers::message_handlers(py::module_ uwsgi, wire::limits lim)
    : uwsgi_(std::move(uwsgi)),
      marshal_name_(interned("message_manager_marshal")),
      functions_name_(interned("_rpc_functions")),
      limits_(lim) {}

void message_handlers::clear() {
  uwsgi_ = py::module_();
  marshal_name_ = py::object();
  functions_name_ = py::object();
}

wire::value message_handlers::marshal(const wire::value& message, std::uint8_t modifier2) {
  request_gil gil;
  try {
    py::object fn = py::getattr(uwsgi_, marshal_name_, py::none());
    if (fn.is_none())
      throw node::handler_error("brood.NoHandler",
                                "uwsgi.message_manager_marshal is not set on this node");
    py::object answer = fn(from_value(message), modifier2);
    return to_value(answer);
  } catch (py::error_already_set& e) {
    rethrow_as_handler_error(e, "uwsgi.message_manager_marshal");
  } catch (py::builtin_exception& e) {  // to_value: TypeError for an answer that cannot travel
    e.set_error();
    rethrow_as_handler_error(py::error_already_set(), "uwsgi.message_manager_marshal");
  }
}

std::optional<node::reply> message_handlers::rpc(const node::request& r) {
  thread_local std::vector<std::string_view> items;  // scratch, reused by a thread's requests
  const std::uint8_t m2 = r.head.modifier2;
  if (m2 == to_byte(rpc_modifier2::http) || m2 == to_byte(rpc_modifier2::xmlrpc)) {
    os::log("RPC over HTTP or XML-RPC (modifier2 ", static_cast<int>(m2), ") is not supported");
    return std::nullopt;
  }
  if (!wire::decode_array(r.payload, limits_, items).is_done() || items.empty() ||
      items.front().empty()) {
    os::log("Empty RPC request. skip.");
    return std::nullopt;
  }
  request_gil gil;
  try {
    return call_rpc(items, m2);
  } catch (const py::error_already_set& e) {
    log_python_error(e, "RPC function \"" + std::string(items.front()) + "\"");
    return std::nullopt;
  }
}

std::optional<node::reply> message_handlers::call_rpc(const std::vector<std::string_view>& items,
                                                      std::uint8_t modifier2) {
  py::object functions = py::getattr(uwsgi_, functions_name_, py::none());
  PyObject* fn = nullptr;
  if (PyDict_Check(functions.ptr())) {
    // brood.uwsgi registers names as bytes; a str key is found too.
    py::bytes raw(items.front().data(), items.front().size());
    fn = PyDict_GetItemWithError(functions.ptr(), raw.ptr());  // borrowed
    if (!fn && !PyErr_Occurred()) {
      py::object name = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
          items.front().data(), static_cast<Py_ssize_t>(items.front().size()), "surrogateescape"));
      if (!name) throw py::error_already_set();
      fn = PyDict_GetItemWithError(functions.ptr(), name.ptr());
    }
    if (!fn && PyErr_Occurred()) throw py::error_already_set();
    // An entry is (fn, argc) as register_rpc stores it, or the function itself.
    if (fn && PyTuple_Check(fn) && PyTuple_GET_SIZE(fn) > 0) fn = PyTuple_GET_ITEM(fn, 0);
  }
  if (!fn) {
    os::log("RPC function \"", items.front(), "\" is not registered");
    return std::nullopt;
  }
  py::tuple args(items.size() - 1);
  for (std::size_t i = 1; i < items.size(); ++i)
    args[i - 1] = py::bytes(items[i].data(), items[i].size());
  py::object result = py::reinterpret_borrow<py::object>(fn)(*args);
  std::string_view data;
  py::object keep;
  if (!result_bytes(result, data, keep)) {
    os::log("RPC function \"", items.front(), "\" returned ", Py_TYPE(result.ptr())->tp_name,
            ", not bytes: no answer");
    return std::nullopt;
  }
  const bool framed = modifier2 == to_byte(rpc_modifier2::framed);
  if (data.empty() || (framed && data.size() > max_payload)) return std::nullopt;
  return rpc_reply(data, modifier2);
}

}  // namespace brood::python

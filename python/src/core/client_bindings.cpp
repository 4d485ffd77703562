#include "client_bindings.hpp"

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "brood/client/client.hpp"
#include "brood/wire/msgpack_codec.hpp"
#include "convert.hpp"
#include "errors.hpp"

namespace brood::python {
namespace {

namespace py = pybind11;
using std::chrono::milliseconds;

// timeout=None waits this long: the client's poll() takes an int of milliseconds.
constexpr milliseconds longest_wait{7LL * 24 * 3600 * 1000};

std::string address_arg(py::handle a) {
  if (PyUnicode_Check(a.ptr())) return a.cast<std::string>();
  if (PyBytes_Check(a.ptr())) return std::string(a.cast<py::bytes>());
  if (PyTuple_Check(a.ptr()) && PyTuple_GET_SIZE(a.ptr()) == 2) {
    py::tuple t = py::reinterpret_borrow<py::tuple>(a);
    return py::str(t[0]).cast<std::string>() + ":" + std::to_string(t[1].cast<long>());
  }
  throw py::type_error(std::string("address must be \"host:port\", a unix socket path or a "
                                   "(host, port) tuple, not '") +
                       Py_TYPE(a.ptr())->tp_name + "'");
}

milliseconds timeout_arg(py::handle t) {
  if (t.is_none()) return longest_wait;
  double seconds = PyFloat_AsDouble(t.ptr());
  if (seconds == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  if (std::isnan(seconds) || seconds <= 0)
    throw py::value_error("timeout must be a positive number of seconds or None, not " +
                          py::repr(t).cast<std::string>());
  if (seconds * 1000 >= static_cast<double>(longest_wait.count())) return longest_wait;
  return milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

std::uint8_t modifier_arg(int m, const char* which) {
  if (m < 0 || m > 255)
    throw py::value_error(std::string(which) + " must be 0..255, not " + std::to_string(m));
  return static_cast<std::uint8_t>(m);
}

// A payload argument: any bytes-like object, viewed (not copied) while the call runs.
class buffer_arg {
 public:
  explicit buffer_arg(py::handle o) {
    if (PyObject_GetBuffer(o.ptr(), &view_, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  }
  ~buffer_arg() { PyBuffer_Release(&view_); }
  buffer_arg(const buffer_arg&) = delete;
  buffer_arg& operator=(const buffer_arg&) = delete;
  wire::bytes_view bytes() const {
    return {static_cast<const wire::byte*>(view_.buf), static_cast<std::size_t>(view_.len)};
  }

 private:
  Py_buffer view_;
};

// The answer as a Python object; an answer brood cannot turn into one is a protocol error.
client::result<py::object> answer_of(const wire::value& v, std::string_view address) {
  std::string why;
  try {
    return from_value(v);
  } catch (const py::builtin_exception& e) {
    why = e.what();
  } catch (py::error_already_set& e) {
    why = e.what();
  }
  return client::call_error{client::make_error_code(client::call_errc::protocol),
                            "bad reply from " + std::string(address) + ": " + why};
}

// The client's interrupt check (client.hpp): runs Python's signal handlers when a signal broke a
// call's wait; a handler that raised (Ctrl-C: KeyboardInterrupt) abandons the call, and its
// exception, left set on this thread, is raised once the binding holds the GIL again.
bool python_signal_raised() noexcept {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

py::object send_message(py::handle address, int m1, int m2, py::handle obj, py::handle timeout) {
  std::string addr = address_arg(address);
  std::uint8_t x = modifier_arg(m1, "modifier1"), y = modifier_arg(m2, "modifier2");
  milliseconds t = timeout_arg(timeout);
  wire::value message = to_value(obj);
  client::message_result r = [&] {
    py::gil_scoped_release nogil;
    return client::send_message(addr, x, y, message, t);
  }();
  if (!r) raise_call_error(r.error(), addr);
  client::result<py::object> answer = answer_of(*r, addr);
  if (!answer) raise_call_error(answer.error(), addr);
  return std::move(*answer);
}

// Converts one (address, obj) target; a TypeError or ValueError names the target's index.
client::target target_arg(py::handle item, std::size_t i) {
  std::string where = "targets[" + std::to_string(i) + "]";
  if (!PySequence_Check(item.ptr()) || PySequence_Size(item.ptr()) != 2)
    throw py::type_error(where + " must be an (address, obj) pair");
  py::sequence pair = py::reinterpret_borrow<py::sequence>(item);
  try {
    return client::target{address_arg(pair[0]), to_value(pair[1])};
  } catch (const py::type_error& e) {
    throw py::type_error(where + ": " + e.what());
  } catch (const py::value_error& e) {
    throw py::value_error(where + ": " + e.what());
  }
}

py::list send_multi_message(py::iterable targets, int m1, int m2, py::handle timeout) {
  std::uint8_t x = modifier_arg(m1, "modifier1"), y = modifier_arg(m2, "modifier2");
  milliseconds t = timeout_arg(timeout);
  std::vector<client::target> ts;
  for (py::handle item : targets) ts.push_back(target_arg(item, ts.size()));
  std::vector<client::message_result> rs;
  {
    py::gil_scoped_release nogil;
    rs = client::send_multi_message(ts, x, y, t);
  }
  if (PyErr_Occurred()) throw py::error_already_set();  // a signal handler raised meanwhile
  py::list out(rs.size());
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const std::string& addr = ts[i].address;
    if (!rs[i]) {
      out[i] = error_object(rs[i].error(), addr);
      continue;
    }
    client::result<py::object> answer = answer_of(*rs[i], addr);
    out[i] = answer ? std::move(*answer) : error_object(answer.error(), addr);
  }
  return out;
}

py::tuple send_packet(py::handle address, int m1, int m2, py::handle payload, py::handle timeout) {
  std::string addr = address_arg(address);
  std::uint8_t x = modifier_arg(m1, "modifier1"), y = modifier_arg(m2, "modifier2");
  milliseconds t = timeout_arg(timeout);
  buffer_arg body(payload);
  client::packet_result r = [&] {
    py::gil_scoped_release nogil;
    return client::send_packet(addr, x, y, body.bytes(), t);
  }();
  if (!r) raise_call_error(r.error(), addr);
  const client::packet& p = *r;
  return py::make_tuple(
      p.head.modifier1, p.head.modifier2,
      py::bytes(reinterpret_cast<const char*>(p.payload.data()), p.payload.size()));
}

py::str ping(py::handle address, py::handle timeout) {
  std::string addr = address_arg(address);
  milliseconds t = timeout_arg(timeout);
  client::result<std::string> r = [&] {
    py::gil_scoped_release nogil;
    return client::ping(addr, t);
  }();
  if (!r) raise_call_error(r.error(), addr);
  return py::reinterpret_steal<py::str>(
      PyUnicode_DecodeUTF8(r->data(), static_cast<Py_ssize_t>(r->size()), "replace"));
}

py::bytes encode(py::handle obj) {
  wire::bytes b = wire::encode_msgpack(to_value(obj));
  return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
}

py::object decode(py::handle data) {
  buffer_arg body(data);
  wire::value v;
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  wire::decode_result d = wire::decode_msgpack(body.bytes(), lim, v);
  if (!d.is_done()) throw py::value_error("cannot decode: " + d.why);
  return from_value(v);
}

}  // namespace

void define_client(py::module_& m) {
  client::set_interrupt_check(&python_signal_raised);
  m.def("send_message", &send_message, py::arg("address"), py::arg("modifier1"),
        py::arg("modifier2"), py::arg("obj"), py::arg("timeout") = 30.0,
        R"(Sends obj to the node at address and returns its answer.

address is "host:port", a unix socket path, or a (host, port) tuple. obj travels as msgpack
and the answer comes back as the same Python types. timeout is in seconds (None: no limit).
The GIL is released while the call waits.

Raises TypeError (before anything is sent) for an object that cannot travel; brood.TimeoutError,
brood.ConnectionRefusedError, brood.ConnectionError, brood.ProtocolError, brood.RemoteError
(.type, .message: the remote exception) or brood.RequestError when the call fails.)");
  m.def("send_multi_message", &send_multi_message, py::arg("targets"), py::arg("modifier1"),
        py::arg("modifier2"), py::arg("timeout") = 30.0,
        R"(Sends to every (address, obj) of targets at once; returns a list in target order.

A slot whose call failed holds the brood.Error INSTANCE (not raised) that send_message would
have raised; the other slots hold their answers. The whole call takes at most about timeout
seconds. Raises TypeError, naming the target, before anything is sent when an obj cannot
travel.)");
  m.def("send_packet", &send_packet, py::arg("address"), py::arg("modifier1"), py::arg("modifier2"),
        py::arg("payload"), py::arg("timeout") = 30.0,
        R"(Sends one raw uwsgi packet [modifier1, len(payload), modifier2] + payload and reads
one framed reply packet. Returns (modifier1, modifier2, payload bytes) of the reply.)");
  m.def("ping", &ping, py::arg("address"), py::arg("timeout") = 30.0,
        "Pings a node (modifier1 100). Returns its warning text, empty when all is well.");
  m.def("encode", &encode, py::arg("obj"),
        "The msgpack bytes obj travels as (docs/protocol.md, Python values).");
  m.def("decode", &decode, py::arg("data"), "The Python value of one msgpack object.");
}

}  // namespace brood::python

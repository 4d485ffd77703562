// Python objects <-> wire::value. Hot path of every Python call: exact types are tried first with
// the C API; subclasses, big ints and tuples take the slower paths.
#include "convert.hpp"

#include <string>
#include <utility>

#include "brood/wire/limits.hpp"
#include "brood/wire/msgpack_codec.hpp"

namespace brood::python {
namespace {

// Deepest nesting of containers (lists, tuples, dicts) a message may have: a node's decoder
// refuses more (wire::limits::max_depth), and a self-containing list must fail, not recurse.
constexpr int max_depth = static_cast<int>(wire::limits{}.max_depth);

// Thrown inside to_value; each enclosing container prepends its index or key while it unwinds,
// and to_value turns it into TypeError (cannot travel) or ValueError (too deep).
struct conversion_failure {
  bool too_deep = false;
  std::string what;  // "cannot send object of type 'set'"
  std::string path;  // "[2]['k']"
};

wire::value convert(PyObject* o, int depth);

std::string repr_of(PyObject* o) {
  PyObject* r = PyObject_Repr(o);
  if (r == nullptr) {
    PyErr_Clear();
    return "?";
  }
  const char* utf8 = PyUnicode_AsUTF8(r);
  std::string s = utf8 != nullptr ? utf8 : "?";
  if (utf8 == nullptr) PyErr_Clear();
  Py_DECREF(r);
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// Where an item sits in its container, turned into text only when a conversion fails.
struct step {
  Py_ssize_t index = 0;     // list or tuple index, when key is null
  PyObject* key = nullptr;  // dict key
  bool in_key = false;      // the failure is in the key itself
  std::string text() const {
    std::string s;
    if (key == nullptr) {
      s = "[";
      s += std::to_string(index);
      s += "]";
    } else {
      s = in_key ? "<key " : "[";
      s += repr_of(key);
      s += in_key ? ">" : "]";
    }
    return s;
  }
};

// Converts `item` (a borrowed reference, kept alive here) at `where` in its container.
wire::value convert_item(PyObject* item, int depth, const step& where) {
  py::object keep = py::reinterpret_borrow<py::object>(item);
  try {
    return convert(item, depth);
  } catch (conversion_failure& f) {
    if (!f.too_deep) f.path.insert(0, where.text());  // a 64-step path says nothing
    throw;
  }
}

wire::value convert_int(PyObject* o) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (overflow == 0) {
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return wire::value(v);
  }
  if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(o);
    if (!(u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) return wire::value(u);
    PyErr_Clear();
  }
  // Big int: signed big-endian two's complement, one spare bit for the sign.
  py::handle h(o);
  std::size_t bits = h.attr("bit_length")().cast<std::size_t>();
  py::bytes raw = h.attr("to_bytes")(bits / 8 + 1, "big", py::arg("signed") = true);
  std::string_view s = raw;
  return wire::extension{static_cast<std::int8_t>(ext_type::bigint),
                         wire::bytes(s.begin(), s.end())};
}

wire::value convert_str(PyObject* o) {
  Py_ssize_t n = 0;
  const char* s = PyUnicode_AsUTF8AndSize(o, &n);
  if (s == nullptr) throw py::error_already_set();
  return wire::value(std::string(s, static_cast<std::size_t>(n)));
}

wire::value convert_buffer(PyObject* o) {
  if (PyBytes_Check(o)) {
    auto* p = reinterpret_cast<const wire::byte*>(PyBytes_AS_STRING(o));
    return wire::binary{wire::bytes(p, p + PyBytes_GET_SIZE(o))};
  }
  Py_buffer view;
  if (PyObject_GetBuffer(o, &view, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  auto* p = static_cast<const wire::byte*>(view.buf);
  wire::binary b{wire::bytes(p, p + view.len)};
  PyBuffer_Release(&view);
  return b;
}

void check_depth(int depth) {
  if (depth >= max_depth)
    throw conversion_failure{true,
                             "nesting deeper than " + std::to_string(max_depth) +
                                 " levels (does a container hold "
                                 "itself?)",
                             {}};
}

wire::array convert_items(PyObject* seq, int depth) {
  check_depth(depth);
  wire::array out;
  // Size re-read on each step: converting an item may run Python code (int subclasses).
  bool list = PyList_Check(seq);
  Py_ssize_t n = list ? PyList_GET_SIZE(seq) : PyTuple_GET_SIZE(seq);
  out.reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < (list ? PyList_GET_SIZE(seq) : n); ++i) {
    PyObject* item = list ? PyList_GET_ITEM(seq, i) : PyTuple_GET_ITEM(seq, i);
    out.push_back(convert_item(item, depth + 1, step{i}));
  }
  return out;
}

wire::value convert_tuple(PyObject* o, int depth) {
  wire::bytes body = wire::encode_msgpack(wire::value(convert_items(o, depth)));
  return wire::extension{static_cast<std::int8_t>(ext_type::tuple), std::move(body)};
}

wire::value convert_dict(PyObject* o, int depth) {
  check_depth(depth);
  wire::map out;
  out.reserve(static_cast<std::size_t>(PyDict_GET_SIZE(o)));
  Py_ssize_t pos = 0;
  PyObject* key = nullptr;
  PyObject* val = nullptr;
  while (PyDict_Next(o, &pos, &key, &val)) {
    py::object keep_key = py::reinterpret_borrow<py::object>(key);
    wire::value k = convert_item(key, depth + 1, step{0, key, true});
    wire::value v = convert_item(val, depth + 1, step{0, key, false});
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

// Types that are not exactly one of the common ones: subclasses and other buffers.
wire::value convert_other(PyObject* o, int depth) {
  if (PyLong_Check(o)) return convert_int(o);
  if (PyFloat_Check(o)) return wire::value(PyFloat_AsDouble(o));
  if (PyUnicode_Check(o)) return convert_str(o);
  if (PyBytes_Check(o) || PyByteArray_Check(o) || PyMemoryView_Check(o)) return convert_buffer(o);
  if (PyList_Check(o)) return convert_items(o, depth);
  if (PyTuple_Check(o)) return convert_tuple(o, depth);
  if (PyDict_Check(o)) return convert_dict(o, depth);
  throw conversion_failure{
      false, std::string("cannot send object of type '") + Py_TYPE(o)->tp_name + "'", {}};
}

wire::value convert(PyObject* o, int depth) {
  if (o == Py_None) return wire::nil{};
  if (o == Py_True) return true;
  if (o == Py_False) return false;
  if (PyLong_CheckExact(o)) return convert_int(o);
  if (PyUnicode_CheckExact(o)) return convert_str(o);
  if (PyFloat_CheckExact(o)) return wire::value(PyFloat_AS_DOUBLE(o));
  if (PyBytes_CheckExact(o)) return convert_buffer(o);
  if (PyList_CheckExact(o)) return convert_items(o, depth);
  if (PyDict_CheckExact(o)) return convert_dict(o, depth);
  if (PyTuple_CheckExact(o)) return convert_tuple(o, depth);
  return convert_other(o, depth);
}

// ---- wire::value -> Python ----

py::object build(const wire::value& v, int depth);

py::object steal(PyObject* o) {
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

py::object build_list(const wire::array& a, int depth) {
  py::object list = steal(PyList_New(static_cast<Py_ssize_t>(a.size())));
  for (std::size_t i = 0; i < a.size(); ++i)
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), build(a[i], depth + 1).release().ptr());
  return list;
}

py::object build_dict(const wire::map& m, int depth) {
  py::object dict = steal(PyDict_New());
  for (const auto& [k, v] : m) {
    py::object key = build(k, depth + 1);
    py::object val = build(v, depth + 1);
    if (PyDict_SetItem(dict.ptr(), key.ptr(), val.ptr()) != 0) throw py::error_already_set();
  }
  return dict;
}

py::object build_extension(const wire::extension& e, int depth) {
  const char* data = reinterpret_cast<const char*>(e.data.data());
  if (e.type == static_cast<std::int8_t>(ext_type::bigint)) {
    py::bytes raw(data, e.data.size());
    return py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyLong_Type))
        .attr("from_bytes")(raw, "big", py::arg("signed") = true);
  }
  if (e.type == static_cast<std::int8_t>(ext_type::tuple)) {
    wire::value items;
    wire::decode_result d = wire::decode_msgpack(e.data, wire::limits{}, items);
    if (!d.is_done() || !items.is<wire::array>())
      throw py::value_error("malformed tuple (msgpack ext type 2): " +
                            (d.is_done() ? std::string("not an array") : d.why));
    const wire::array& a = items.as<wire::array>();
    py::object tuple = steal(PyTuple_New(static_cast<Py_ssize_t>(a.size())));
    for (std::size_t i = 0; i < a.size(); ++i)
      PyTuple_SET_ITEM(tuple.ptr(), static_cast<Py_ssize_t>(i),
                       build(a[i], depth + 1).release().ptr());
    return tuple;
  }
  throw py::value_error("the answer holds msgpack ext type " + std::to_string(e.type) +
                        ", which has no Python value (brood knows 1: big int, 2: tuple)");
}

py::object build(const wire::value& v, int depth) {
  if (depth > max_depth)
    throw py::value_error("the answer nests deeper than " + std::to_string(max_depth) + " levels");
  return std::visit(
      [depth](const auto& x) -> py::object {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, wire::nil>) {
          return py::none();
        } else if constexpr (std::is_same_v<T, bool>) {
          return py::bool_(x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return steal(PyLong_FromLongLong(x));
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
          return steal(PyLong_FromUnsignedLongLong(x));
        } else if constexpr (std::is_same_v<T, double>) {
          return steal(PyFloat_FromDouble(x));
        } else if constexpr (std::is_same_v<T, std::string>) {
          // surrogateescape: a foreign node's invalid UTF-8 still arrives, byte for byte.
          return steal(
              PyUnicode_DecodeUTF8(x.data(), static_cast<Py_ssize_t>(x.size()), "surrogateescape"));
        } else if constexpr (std::is_same_v<T, wire::binary>) {
          return steal(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(x.data.data()),
                                                 static_cast<Py_ssize_t>(x.data.size())));
        } else if constexpr (std::is_same_v<T, wire::array>) {
          return build_list(x, depth);
        } else if constexpr (std::is_same_v<T, wire::map>) {
          return build_dict(x, depth);
        } else {
          return build_extension(x, depth);
        }
      },
      v.variant());
}

}  // namespace

wire::value to_value(py::handle obj) {
  try {
    return convert(obj.ptr(), 0);
  } catch (const conversion_failure& f) {
    std::string text = "message" + f.path + ": " + f.what;
    if (f.too_deep) throw py::value_error(text);
    throw py::type_error(text);
  }
}

py::object from_value(const wire::value& v) { return build(v, 0); }

}  // namespace brood::python

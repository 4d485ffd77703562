#pragma once
// Python objects <-> brood::wire::value (docs/protocol.md, "Python values").
//   None, bool, int, float, str, bytes (and bytearray/memoryview as bytes), list, dict travel as
//   their msgpack counterparts; an int outside int64/uint64 travels as ext type 1 (big int), a
//   tuple as ext type 2 (msgpack array inside), so they come back as the same Python types.
// REQUIRES: the GIL is held.
#include <cstdint>

#include <pybind11/pybind11.h>

#include "brood/wire/value.hpp"

namespace brood::python {

namespace py = pybind11;

enum class ext_type : std::int8_t {
  bigint = 1,  // signed big-endian two's complement bytes (int.to_bytes(n, "big", signed=True))
  tuple = 2,   // the msgpack encoding of an array of the items
};

// Raises TypeError (py::type_error) naming the type and where it sits ("message[2]['k']: cannot
// send object of type 'set'") for an object that cannot travel, before anything is sent.
wire::value to_value(py::handle obj);
py::object from_value(const wire::value& v);

}  // namespace brood::python

#pragma once
// The client functions of module `brood`: send_message, send_multi_message, send_packet, ping,
// encode, decode. Each converts its arguments with the GIL held (so an object that cannot travel
// raises TypeError before anything is sent), releases the GIL while it waits for the nodes, and
// converts the answers back with the GIL held again.
#include <pybind11/pybind11.h>

namespace brood::python {

// REQUIRES: define_errors(m) ran first (the functions raise those classes).
void define_client(pybind11::module_& m);

}  // namespace brood::python

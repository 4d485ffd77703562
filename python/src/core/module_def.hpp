#pragma once
// The contents of the native module `brood._brood`: client calls and the exception types.
// Shared by the extension module (python/src/module.cpp) and the interpreter embedded in a node
// (python/src/host/), which registers it as a built-in module.
#include <pybind11/pybind11.h>

namespace brood::python {

void define_module(pybind11::module_& m);

}  // namespace brood::python

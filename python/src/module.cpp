// The extension module brood._brood (python/brood/_brood*.so in the build tree).
#include <pybind11/pybind11.h>

#include "core/module_def.hpp"

PYBIND11_MODULE(_brood, m) { brood::python::define_module(m); }

#include "module_def.hpp"

#include "client_bindings.hpp"
#include "errors.hpp"
#include "legion_bindings.hpp"
#include "spool_bindings.hpp"

namespace brood::python {

void define_module(pybind11::module_& m) {
  m.doc() =
      "Native part of brood: client calls to brood and uWSGI nodes and the brood.Error classes. "
      "Use it through the package `brood`.";
  define_errors(m);
  define_client(m);
  define_spool(m);
  define_legion(m);
}

}  // namespace brood::python

#include "legion_bindings.hpp"

#include <optional>
#include <string>

#include "brood/legion/process.hpp"
#include "brood/legion/shared_views.hpp"

namespace brood::python {
namespace {

namespace py = pybind11;

py::bytes as_bytes(const std::string& s) { return py::bytes(s.data(), s.size()); }

std::string name_of(py::handle name) {
  if (PyBytes_Check(name.ptr())) return name.cast<std::string>();
  if (PyUnicode_Check(name.ptr())) return name.cast<std::string>();
  throw py::type_error(std::string("a legion name must be str or bytes, not '") +
                       Py_TYPE(name.ptr())->tp_name + "'");
}

py::object legion_view(py::handle name) {
  const std::string n = name_of(name);
  const legion::shared_views* views = legion::process_views();
  if (views == nullptr) return py::none();
  std::optional<legion::shared_view> v;
  {
    py::gil_scoped_release nogil;  // a read may spin while the legion thread writes
    v = views->read(n);
  }
  if (!v) return py::none();
  py::list scrolls;
  for (const std::string& s : v->scrolls) scrolls.append(as_bytes(s));
  py::object lord_scroll =
      v->lord_scroll.empty() ? py::object(py::none()) : py::object(as_bytes(v->lord_scroll));
  return py::make_tuple(py::bool_(v->i_am_the_lord), py::int_(v->epoch), lord_scroll, scrolls);
}

py::list legion_names() {
  py::list out;
  if (const legion::shared_views* views = legion::process_views())
    for (const std::string& n : views->names()) out.append(py::str(n));
  return out;
}

}  // namespace

void define_legion(py::module_& m) {
  m.def("_legion_view", &legion_view, py::arg("name"),
        "This node's view of legion `name`: (i_am_the_lord, epoch, lord_scroll, scrolls), or "
        "None when the node is no member of it.");
  m.def("_legion_names", &legion_names, "The legions this node is a member of.");
}

}  // namespace brood::python

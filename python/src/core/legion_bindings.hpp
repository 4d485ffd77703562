#pragma once
// The legion functions of module `brood._brood` (docs/legion.md "Python API"), read from the node's
// shared legion views (brood/legion/shared_views.hpp, found through legion::process_views(): set
// by the master before it forks, inherited by its workers); brood.uwsgi turns them into uWSGI's
// API:
//   _legion_view(name) -> None | (i_am_the_lord: bool, epoch: int, lord_scroll: bytes | None,
//                                 scrolls: list[bytes])
//                        None for a legion this node is not a member of (or outside a node)
//   _legion_names() -> list[str]   the legions of this node, [] outside a node
#include <pybind11/pybind11.h>

namespace brood::python {

void define_legion(pybind11::module_& m);

}  // namespace brood::python

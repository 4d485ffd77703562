// uwsgi.spooler inside a spooler process: the task dict in, the spool result out.
#include "spooler_handler.hpp"

#include <climits>
#include <stdexcept>
#include <string>
#include <utility>

#include "brood/os/log.hpp"
#include "py_error.hpp"

namespace brood::python {
namespace {

py::bytes bytes_of(std::string_view s) { return py::bytes(s.data(), s.size()); }

// An int answer as the C int the spooler expects; one outside that range counts as retry.
int int_answer(py::handle answer) {
  int overflow = 0;
  long v = PyLong_AsLongAndOverflow(answer.ptr(), &overflow);
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0 || v < INT_MIN || v > INT_MAX)
    return static_cast<int>(spooler::spool_result::retry);
  return static_cast<int>(v);
}

}  // namespace

spooler_handler::spooler_handler(py::module_ uwsgi)
    : uwsgi_(std::move(uwsgi)), spooler_name_(py::str("spooler")) {}

void spooler_handler::clear() {
  uwsgi_ = py::module_();
  spooler_name_ = py::object();
}

py::object spooler_handler::task_dict(const spooler::spool_task& task) const {
  py::dict d;
  py::object var_body;
  for (const auto& [key, value] : task.vars) {
    py::bytes v = bytes_of(value);
    if (key == wire::spool_key_body) var_body = v;
    d[bytes_of(key)] = std::move(v);
  }
  d["spooler_task_name"] = bytes_of(task.name);
  if (!task.body.empty())
    d["body"] = bytes_of(task.body);
  else if (var_body)
    d["body"] = var_body;
  d["spooler_attempt"] = py::int_(task.attempt);
  return d;
}

int spooler_handler::run(const spooler::spool_task& task) {
  py::gil_scoped_acquire gil;
  std::string failure;
  try {
    py::object fn = py::getattr(uwsgi_, spooler_name_, py::none());
    if (fn.is_none()) return static_cast<int>(spooler::spool_result::ignore);
    py::object answer = fn(task_dict(task));
    if (PyLong_Check(answer.ptr())) return int_answer(answer);
    failure =
        std::string("uwsgi.spooler returned '") + Py_TYPE(answer.ptr())->tp_name + "', not an int";
    os::log("spooler task ", task.name, ": ", failure, " (retry)");
  } catch (const py::error_already_set& e) {
    log_python_error(e, "spooler task " + task.name);
    failure = exception_type_name(e.type()) + ": " + exception_message(e);
  }
  throw std::runtime_error(failure);
}

}  // namespace brood::python

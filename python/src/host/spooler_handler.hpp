#pragma once
// The Python spooler callable, run for each task in a spooler process (docs/uwsgi-compat.md §3.1).
// uwsgi.spooler is looked up for every task (the application may assign it at any time) and
// called with one dict, as uWSGI 2.0 with Python 3 builds it:
//   every var of the task file     bytes key -> bytes value (special keys and brood_attempt /
//                                  brood_last_error included, brood_checksum left out)
//   'spooler_task_name'            str key -> the file name (bytes)
//   'body'                         str key -> the raw body (bytes), when the file has one, else
//                                  the value of a "body" var (a remote brood.spool's body)
//   'spooler_attempt'              str key -> int, 1 on the first run (brood)
// Its answer: an int is returned as is (SPOOL_OK -2, SPOOL_RETRY -1, SPOOL_IGNORE 0; any other
// int counts as retry). No callable (None): 0, ignore. An exception, or an answer that is not an
// int: the traceback (or the type) is logged and std::runtime_error is thrown with
// "Type: message", which the spooler records as the task's last error and retries.
// Takes the GIL. One task at a time per process.
#include <pybind11/pybind11.h>

#include "brood/spooler/spool.hpp"

namespace brood::python {

namespace py = pybind11;

class __attribute__((visibility("hidden"))) spooler_handler {
 public:
  // REQUIRES: the GIL is held; `uwsgi` is the module brood.uwsgi.
  explicit spooler_handler(py::module_ uwsgi);
  // Drops the Python objects. REQUIRES: the GIL is held.
  void clear();

  int run(const spooler::spool_task& task);

 private:
  py::object task_dict(const spooler::spool_task& task) const;

  py::module_ uwsgi_;
  py::object spooler_name_;  // "spooler"
};

}  // namespace brood::python

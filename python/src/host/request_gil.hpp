#pragma once
// The GIL for a request handler, on any worker core's thread. A thread that has no Python thread
// state gets one the first time and keeps it for its life: pybind11's gil_scoped_acquire alone
// would create and destroy a thread state around every request of a core thread (costly, and a
// threading.local of the application would be emptied after each request).
#include <Python.h>

#include <pybind11/pybind11.h>

namespace brood::python {

// Holds the GIL for its lifetime. REQUIRES: the interpreter is running and this thread does not
// hold the GIL.
class __attribute__((visibility("hidden"))) request_gil {
 public:
  request_gil() = default;

 private:
  static bool keep_thread_state() {
    thread_local bool kept = PyGILState_GetThisThreadState() != nullptr;
    if (kept) return true;
    PyGILState_Ensure();  // a thread state for this thread, its count never dropped back to 0
    PyEval_SaveThread();  // the GIL is free again; the state stays this thread's
    kept = true;
    return true;
  }

  // Initialized in this order: the thread state is kept before gil_ looks for one.
  [[maybe_unused]] bool kept_ = keep_thread_state();
  pybind11::gil_scoped_acquire gil_;
};

}  // namespace brood::python

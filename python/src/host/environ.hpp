#pragma once
// The PEP 3333 environ of one request, built from its uwsgi vars block. Keys and values are
// native strings decoded as latin-1 (PEP 3333); the usual keys are interned once and reused.
// Not thread-safe: one builder per worker (handlers run one at a time). REQUIRES: the GIL is
// held for every call, and the builder is destroyed while the interpreter runs.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <pybind11/pybind11.h>

#include "brood/wire/bytes.hpp"
#include "brood/wire/vars.hpp"

namespace brood::python {

namespace py = pybind11;

// Hidden like the pybind11 objects it holds (the library is built with default visibility).
class __attribute__((visibility("hidden"))) environ_builder {
 public:
  // `multithread`: wsgi.multithread is True (the worker has more than one thread).
  explicit environ_builder(bool multithread = false);

  // A new environ dict: the vars (the last of duplicate keys wins), PATH_INFO without the
  // SCRIPT_NAME prefix when `strip_script_name` (modifier1 30), wsgi.input = io.BytesIO(body)
  // and the other wsgi.* keys. Throws py::error_already_set.
  py::dict build(const std::vector<wire::var>& vars, wire::bytes_view body, bool strip_script_name);

  // Interns the usual request keys (nginx's uwsgi_params, the CGI names) into the cache. A
  // fork-server base keeps a primed builder alive (fork_base.cpp), so that the builders of the
  // processes forked from it find every constant and usual key already interned: their first
  // request inserts nothing into Python's interned-string table (no copy-on-write faults on it,
  // no resize of it).
  void prime();

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  // The interned str for `key`, cached (up to a bound, so clients cannot grow it forever).
  py::handle key(std::string_view k);
  void add_wsgi_keys(py::dict& env, wire::bytes_view body, std::string_view scheme);

  std::unordered_map<std::string, py::object, string_hash, std::equal_to<>> keys_;
  py::object bytes_io_;  // io.BytesIO
  py::object version_;   // (1, 0)
  py::object http_;      // "http"
  py::object https_;     // "https"
  py::object k_input_, k_errors_, k_version_, k_scheme_, k_multithread_, k_multiprocess_,
      k_run_once_, k_path_info_;
  bool multithread_ = false;
};

}  // namespace brood::python

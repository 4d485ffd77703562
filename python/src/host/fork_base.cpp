// brood::python::fork_base: the interpreter of a fork-server base, loaded once and forked.
#include "brood/python/fork_base.hpp"

#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <pybind11/embed.h>

#include "app_loader.hpp"
#include "brood/node/log_config.hpp"
#include "brood/node/router.hpp"
#include "brood/os/log.hpp"
#include "brood/python/host.hpp"
#include "brood/wire/vars.hpp"
#include "environ.hpp"
#include "interpreter.hpp"
#include "py_error.hpp"
#include "start_response.hpp"
#include "wsgi_handler.hpp"

namespace brood::python {

namespace py = pybind11;

namespace {

// fork-server-warm-up MODULE:FUNC: FUNC() called (MODULE taken from sys.modules when the base
// imported it); what it raises is logged, what it returns dropped. REQUIRES: the GIL is held.
void call_warm_up(const std::string& spec) {
  const std::size_t colon = spec.rfind(':');
  try {
    py::module_ module = py::module_::import(spec.substr(0, colon).c_str());
    module.attr(spec.substr(colon + 1).c_str())();
  } catch (const py::error_already_set& e) {
    os::log("fork server spare: fork-server-warm-up ", spec, ": ", e.what());
  }
}

// One request through brood's WSGI path (the vars decoded, the GIL taken, the environ built with
// its wsgi.input, a start_response made and called, the answer made) to a stub application,
// never the user's; the request log off, so it writes nothing. A warm spare's worker-to-be runs
// it so that the allocations and copy-on-write faults of a vassal's first request are taken
// ahead (bench/RESULTS.md, issue 14). REQUIRES: the GIL is held. Throws py::error_already_set.
void rehearse_wsgi_request() {
  wsgi_handler handler(wire::limits{});
  node::log_config quiet;
  quiet.disable_logging = true;
  handler.set_request_log(quiet);
  handler.set_app(py::cpp_function([](py::object, py::object start_response) {
    py::list headers;
    headers.append(py::make_tuple("Content-Type", "text/plain"));
    start_response("200 OK", headers);
    py::list body;
    body.append(py::bytes("rehearsal"));
    return body;
  }));
  const std::vector<wire::var> vars = {{"REQUEST_METHOD", "GET"},
                                       {"REQUEST_URI", "/"},
                                       {"PATH_INFO", "/"},
                                       {"QUERY_STRING", ""},
                                       {"SERVER_PROTOCOL", "HTTP/1.1"},
                                       {"SERVER_NAME", "localhost"},
                                       {"SERVER_PORT", "80"},
                                       {"REMOTE_ADDR", "127.0.0.1"},
                                       {"REMOTE_PORT", "40000"},
                                       {"HTTP_HOST", "localhost"},
                                       {"HTTP_USER_AGENT", "brood"},
                                       {"HTTP_ACCEPT", "*/*"}};
  wire::bytes payload;
  if (wire::append_vars(payload, vars)) return;
  node::request r;
  r.head.size = static_cast<std::uint16_t>(payload.size());
  r.payload = payload;
  (void)handler.handle(r);
}

}  // namespace

struct __attribute__((visibility("hidden"))) fork_base::impl {
  app_options opts;
  const pid_t owner_pid = ::getpid();
  PyThreadState* saved = nullptr;  // the main thread's state while the GIL is released
  // Made by load() and kept as long as the interpreter runs (environ_builder::prime): in a
  // process forked from the base it is never destroyed, so that its strings stay interned.
  std::unique_ptr<environ_builder> environ;

  void release() { saved = PyEval_SaveThread(); }
  void acquire() {
    PyEval_RestoreThread(saved);
    saved = nullptr;
  }
};

fork_base::fork_base(const app_options& opts) : impl_(std::make_unique<impl>()) {
  impl_->opts = opts;
  std::vector<std::string> path = opts.early_pythonpath;
  path.insert(path.end(), opts.pythonpath.begin(), opts.pythonpath.end());
  try {
    start_interpreter(path, opts.virtualenv);  // this thread holds the GIL
  } catch (...) {
    if (Py_IsInitialized()) stop_interpreter();
    throw;
  }
  try {
    for (const std::string& name : opts.early_imports) {
      py::module_::import(name.c_str());
      os::log("early-pyimport: imported ", name);
    }
  } catch (const py::error_already_set& e) {
    const std::string text = traceback_text(e);
    stop_interpreter();
    throw std::runtime_error("cannot import an early-pyimport module:\n" + text);
  }
  impl_->release();
}

fork_base::~fork_base() {
  // An adopted vassal: the interpreter is its node's, and the base's state is left as it is
  // (never freed: its pages stay shared with the base, no copy-on-write fault on the vassal's
  // start; the environ builder's strings stay interned for the node's host).
  if (::getpid() != impl_->owner_pid) {
    (void)impl_.release();
    return;
  }
  if (impl_->saved) impl_->acquire();
  impl_->environ.reset();
  stop_interpreter();
}

void fork_base::load() {
  impl_->acquire();
  std::string failure;
  try {
    if (!impl_->opts.lazy_apps) {
      py::object app = load_application(impl_->opts);
      auto mounts = load_mounts(impl_->opts);
      os::log("fork-server base: application loaded", app.is_none() ? " (no WSGI callable)" : "",
              mounts.first.empty() ? "" : " with mounts");
    }
    install_host_module();  // the vassals' WSGI start_response type, made once here
    impl_->environ = std::make_unique<environ_builder>();
    impl_->environ->prime();
    py::module_ gc = py::module_::import("gc");
    gc.attr("collect")();
    gc.attr("freeze")();
    os::log("fork-server base: gc.freeze(): ", py::int_(gc.attr("get_freeze_count")()).cast<long>(),
            " objects kept out of the collector");
  } catch (const py::error_already_set& e) {
    failure = "cannot load the Python application:\n" + traceback_text(e);
  }
  impl_->release();
  if (!failure.empty()) throw std::runtime_error(failure);
}

node::fork_server_hooks fork_base::hooks() {
  impl* self = impl_.get();
  node::fork_server_hooks h;
  h.before_fork = [self] {
    self->acquire();
    PyOS_BeforeFork();
  };
  h.after_fork_parent = [self] {
    PyOS_AfterFork_Parent();
    self->release();
  };
  h.after_fork_child = [self] {
    PyOS_AfterFork_Child();  // this thread held the GIL at fork: it holds it again now
    self->saved = nullptr;
  };
  // The spare's fork of its pre-forked worker: the spare holds the lock (after_fork_child).
  h.before_prefork = [] { PyOS_BeforeFork(); };
  h.after_prefork_parent = [] { PyOS_AfterFork_Parent(); };
  h.after_prefork_child = [] { PyOS_AfterFork_Child(); };
  // A warm spare rehearses the host's joining (python/src/host/host.cpp): os.environ rebuilt,
  // which the vassal does again with its own environment, its pages then already copied; then a
  // whole host made over the base's options on a throwaway router and dropped (its attribute
  // lookups, allocations and copy-on-write faults taken ahead: master CPU -2 ms and ~50 fewer
  // faults per adopted vassal, bench/RESULTS.md), sys.path put back as it was; then a request
  // through brood's WSGI path to a stub application (rehearse_wsgi_request). It logs nothing;
  // what it leaves (the uwsgi module's node description, os.environ) the vassal's host sets again.
  h.spare_warm_up = [self] {
    try {
      sync_os_environ();
    } catch (const py::error_already_set& e) {
      os::log("fork server spare: warm-up: ", e.what());
    }
    {
      try {
        py::module_ sys = py::module_::import("sys");
        py::list path(sys.attr("path"));
        py::list saved;
        for (py::handle p : path) saved.append(p);
        {
          node::router r;
          host h(self->opts, r);
        }
        sys.attr("path") = saved;
        rehearse_wsgi_request();
      } catch (const std::exception& e) {
        os::log("fork server spare: warm-up: ", e.what());
      }
    }
    for (const std::string& w : self->opts.fork_server_warm_up) call_warm_up(w);
  };
  return h;
}

}  // namespace brood::python

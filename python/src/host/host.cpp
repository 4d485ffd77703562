// brood::python::host: the embedded interpreter's life across the node's fork, and the Python
// handlers on the router.
//
// GIL protocol: the constructor ends with the GIL released (`saved` holds the main thread state).
// Around each fork the master takes it back so the fork happens with the GIL held (PyOS_BeforeFork
// / PyOS_AfterFork_Parent); the child reinitialises Python (PyOS_AfterFork_Child), loads the app
// with lazy-apps, and releases it again. Request handlers take it with py::gil_scoped_acquire.
#include "brood/python/host.hpp"

#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include "app_loader.hpp"
#include "brood/os/log.hpp"
#include "brood/wire/modifier.hpp"
#include "core/spool_bindings.hpp"
#include "interpreter.hpp"
#include "message_handlers.hpp"
#include "py_error.hpp"
#include "spooler_handler.hpp"
#include "start_response.hpp"
#include "wsgi_handler.hpp"

namespace brood::python {

namespace py = pybind11;

struct __attribute__((visibility("hidden"))) host::impl {
  impl(const app_options& o, const wire::limits& lim) : opts(o), wsgi(lim) {
    if (Py_IsInitialized()) {
      join_running_interpreter();
      return;
    }
    try {
      start_interpreter(search_path(opts), opts.virtualenv);
    } catch (...) {
      if (Py_IsInitialized()) stop_interpreter();
      throw;
    }
    interpreter_running = true;
  }

  // An adopted vassal of a fork-server base (fork_base.hpp): the base's interpreter goes on in
  // this process, with the GIL held by this thread; the host never finalizes it.
  void join_running_interpreter() {
    if (!PyGILState_Check())
      throw std::runtime_error(
          "Python is running in this process without this thread holding "
          "the GIL: cannot host the node's application");
    if (!opts.virtualenv.empty())
      os::log("virtualenv ", opts.virtualenv,
              ": ignored, an adopted vassal runs its fork-server base's interpreter");
    try {
      prepend_path(search_path(opts));
      sync_os_environ();
    } catch (const py::error_already_set& e) {
      throw std::runtime_error("cannot set up Python in the node:\n" + traceback_text(e));
    }
  }

  // early-pythonpath, then pythonpath.
  static std::vector<std::string> search_path(const app_options& o) {
    std::vector<std::string> out = o.early_pythonpath;
    out.insert(out.end(), o.pythonpath.begin(), o.pythonpath.end());
    return out;
  }

  ~impl() {
    if (::getpid() != owner_pid) return;  // a forked child never finalizes (it ends with _exit)
    if (saved) PyEval_RestoreThread(saved);
    saved = nullptr;
    if (messages) messages->clear();
    messages.reset();
    if (spooler) spooler->clear();
    spooler.reset();
    set_local_spool_store(nullptr);
    set_local_spooler_board(nullptr);
    wsgi.clear();
    if (interpreter_running) stop_interpreter();
  }

  // Loads the application; a failure becomes std::runtime_error with the traceback.
  // REQUIRES: the GIL is held.
  void load() {
    try {
      py::object app = load_application(opts);
      auto [points, apps] = load_mounts(opts);
      if (app.is_none() && apps.empty() && opts.need_app)
        throw std::runtime_error(
            "unable to load app 0 (mountpoint='') (callable not found or "
            "import error)");
      wsgi.set_app(std::move(app));
      wsgi.set_mounts(std::move(points), std::move(apps), opts.manage_script_name);
    } catch (const py::error_already_set& e) {
      throw std::runtime_error("cannot load the Python application:\n" + traceback_text(e));
    }
  }

  void release_gil() { saved = PyEval_SaveThread(); }
  void acquire_gil() {
    PyEval_RestoreThread(saved);
    saved = nullptr;
  }

  // In a forked child (worker or spooler process), or in the lone process without a master:
  // takes the GIL back, runs `enter` (may be empty), loads the app with lazy-apps, releases it.
  bool child_start(const char* enter, const std::string& arg) {
    if (::getpid() != owner_pid) {
      PyOS_AfterFork_Child();  // this thread held the GIL at fork: it holds it again now
      saved = nullptr;
    } else {
      acquire_gil();  // no master: the node serves in this very process
    }
    bool ok = true;
    try {
      if (enter != nullptr) uwsgi_module().attr(enter)(arg);
      if (opts.lazy_apps) load();
    } catch (const py::error_already_set& e) {
      os::log("cannot start Python in this process:\n", traceback_text(e));
      ok = false;
    } catch (const std::exception& e) {
      os::log(e.what());
      ok = false;
    }
    release_gil();
    return ok;
  }

  // Puts the handlers on the router; they live as long as this object.
  void route(node::router& r) {
    using wire::modifier1;
    r.on_message([this](const wire::value& message, std::uint8_t m2) {
      return messages->marshal(message, m2);
    });
    auto answer_wsgi = [this](const node::request& req) { return wsgi.handle(req); };
    r.on_packet(wire::to_byte(modifier1::wsgi), answer_wsgi, node::body_policy::content_length);
    r.on_packet(wire::to_byte(modifier1::manage_path_info), answer_wsgi,
                node::body_policy::content_length);
    r.on_packet(wire::to_byte(modifier1::rpc),
                [this](const node::request& req) { return messages->rpc(req); });
  }

  app_options opts;
  const pid_t owner_pid = ::getpid();
  bool interpreter_running = false;
  PyThreadState* saved = nullptr;
  wsgi_handler wsgi;
  std::unique_ptr<message_handlers> messages;
  std::unique_ptr<spooler_handler> spooler;  // with spooler dirs
};

namespace {

// The store uwsgi.spool writes with: every spooler and spooler-external dir, or null.
std::shared_ptr<const spooler::spool_store> open_store(const spooler::spooler_config& cfg) {
  if (!cfg.any()) return nullptr;
  std::vector<std::string> dirs = cfg.dirs;
  dirs.insert(dirs.end(), cfg.external_dirs.begin(), cfg.external_dirs.end());
  return std::make_shared<const spooler::spool_store>(dirs,
                                                      spooler::spool_store_options::of(cfg, false));
}

// What the uwsgi module tells the application about its node (numproc, opt['spooler'], ...).
void describe_node(const node::node_config& cfg) {
  uwsgi_module().attr("_describe_node")(cfg.processes, cfg.spooler.dirs, cfg.spooler.external_dirs);
}

}  // namespace

host::host(const app_options& opts, node::router& r) : host(opts, r, node::node_config{}) {}

host::host(const app_options& opts, node::router& r, const node::node_config& cfg)
    : impl_(std::make_unique<impl>(opts, r.limits())) {
  set_local_spool_store(open_store(cfg.spooler));
  try {
    import_early(opts);
  } catch (const py::error_already_set& e) {
    throw std::runtime_error("cannot import an early-pyimport module:\n" + traceback_text(e));
  }
  try {
    install_host_module();
    impl_->messages = std::make_unique<message_handlers>(uwsgi_module(), r.limits());
    if (!cfg.spooler.dirs.empty())
      impl_->spooler = std::make_unique<spooler_handler>(uwsgi_module());
    describe_node(cfg);
    impl_->wsgi.set_multithread(cfg.threads > 1);
    impl_->wsgi.set_request_log(cfg.log);
  } catch (const py::error_already_set& e) {
    throw std::runtime_error("cannot set up Python in the node:\n" + traceback_text(e));
  }
  if (!opts.lazy_apps) impl_->load();
  impl_->release_gil();
  impl_->route(r);
}

host::~host() = default;

node::node_hooks host::hooks() {
  impl* self = impl_.get();
  node::node_hooks h;
  h.before_fork = [self] {
    self->acquire_gil();
    PyOS_BeforeFork();
  };
  h.after_fork_parent = [self] {
    PyOS_AfterFork_Parent();
    self->release_gil();
  };
  h.worker_start = [self](unsigned) { return self->child_start(nullptr, {}); };
  h.spooler_board = [](const spooler::spooler_board* board) { set_local_spooler_board(board); };
  if (self->spooler) {
    h.spooler_start = [self](const std::string& dir) {
      return self->child_start("_enter_spooler", dir);
    };
    h.spooler = [self](const spooler::spool_task& task) { return self->spooler->run(task); };
  }
  return h;
}

}  // namespace brood::python

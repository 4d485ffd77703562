// run_node: bind the sockets, then either serve in this process (no master, one process) or run
// the master that forks and manages the workers.
#include "brood/node/node.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brood/node/fork_server.hpp"
#include "brood/node/hooks.hpp"
#include "brood/node/worker.hpp"
#include "brood/os/address.hpp"
#include "brood/os/inherited_sockets.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"
#include "brood/os/process_title.hpp"
#include "brood/os/step_trace.hpp"
#include "emperor_link.hpp"
#include "fork_server_prefork.hpp"
#include "http_sockets.hpp"
#include "master.hpp"
#include "node_legion.hpp"
#include "node_lifecycle.hpp"
#include "zerg_attach.hpp"

namespace brood::node {
namespace {

// The node's listening sockets. Closing them (destruction) also removes the unix socket files
// the node created (not those of sockets attached from a zerg server). Never destroyed in a
// forked worker (workers end with _exit).
class socket_set {
 public:
  socket_set() = default;
  socket_set(const socket_set&) = delete;
  socket_set& operator=(const socket_set&) = delete;
  ~socket_set() {
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
      os::bound_socket& s = sockets_[i];
      s.fd.reset();
      if (owned_[i] && !keep_files_ && s.addr.type == os::address::kind::unix_path)
        ::unlink(s.addr.path.c_str());
    }
  }

  // A successor serves these sockets now (emperor_command::hand_over): closing them leaves the
  // unix socket files in place.
  void keep_files() noexcept { keep_files_ = true; }

  // Attaches to every zerg server of cfg.zergs (zerg_attach.hpp) and logs the sockets as uWSGI.
  // An attach that fails is logged; then false, or with zerg-fallback the next one is tried.
  bool attach_all(const node_config& cfg) {
    for (const std::string& path : cfg.zergs) {
      auto attached = attach_zerg(path);
      if (!attached) {
        os::log(attached.error().message(),
                cfg.zerg_fallback ? "; zerg-fallback: going on without it" : "");
        if (!cfg.zerg_fallback) return false;
        continue;
      }
      for (os::bound_socket& s : *attached) add(std::move(s), "attached to", "uwsgi zerg socket ");
    }
    if (!cfg.zergs.empty() && !sockets_.empty()) os::log("zerg sockets attached");
    return true;
  }

  // Binds every configured address (the uwsgi sockets, then the HTTP sockets, which are marked
  // for the workers: http_sockets.hpp) and logs it; a listening socket inherited on fd 0 (an
  // on-demand vassal's) replaces the configured address it names, or is served in addition; so
  // does an inherited socket (BROOD_INHERITED_SOCKETS) of the same address.
  // On the first failure logs why and returns false.
  bool bind_all(const node_config& cfg, std::optional<os::bound_socket> inherited) {
    for (const std::string& text : cfg.sockets)
      if (!bind_one(cfg, text, inherited, false)) return false;
    for (const std::string& text : cfg.http.sockets)
      if (!bind_one(cfg, text, inherited, true)) return false;
    for (const https_socket& h : cfg.http.https) {
      std::string why;
      std::shared_ptr<detail::tls_context> tls = detail::tls_context::load(h.cert, h.key, why);
      if (!tls) {
        os::log("https ", h.address, ": ", why);
        return false;
      }
      if (!bind_one(cfg, h.address, inherited, true, std::move(tls))) return false;
    }
    if (inherited) add(std::move(*inherited), "inherited on fd 0 as");
    return true;
  }

  bool bind_one(const node_config& cfg, const std::string& text,
                std::optional<os::bound_socket>& inherited, bool http,
                std::shared_ptr<detail::tls_context> tls = nullptr) {
    auto addr = os::parse_address(text);
    if (!addr) {
      os::log("invalid socket address \"", text, "\": ", addr.error().message());
      return false;
    }
    if (attached(*addr)) return true;  // a zerg server's socket serves it
    if (inherited && os::names_socket(*addr, *inherited)) {
      if (http) detail::mark_http_socket(inherited->fd.get(), tls);
      add(std::move(*inherited), "inherited on fd 0 as");
      inherited.reset();
      return true;
    }
    // A predecessor's socket (a rolling re-fork: os/inherited_sockets.hpp) is served as it is.
    if (std::optional<os::bound_socket> s = os::inherited_sockets::of_process().take(*addr)) {
      if (http) detail::mark_http_socket(s->fd.get(), tls);
      add(std::move(*s), "inherited from the predecessor as");
      return true;
    }
    os::bind_options opts;
    opts.reuse_port = cfg.reuse_port;
    if (cfg.process.chmod_socket) opts.unix_mode = *cfg.process.chmod_socket;
    auto s = os::bind_socket(*addr, cfg.listen_queue, os::accept_when::first_bytes, opts);
    if (!s) {
      os::log(s.error().message());
      return false;
    }
    if (http) detail::mark_http_socket(s->fd.get(), tls);
    add(std::move(*s), "bound to");
    return true;
  }

  bool empty() const noexcept { return sockets_.empty(); }

  // The unix socket files this node created (chown-socket).
  std::vector<std::string> unix_paths() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < sockets_.size(); ++i)
      if (owned_[i] && sockets_[i].addr.type == os::address::kind::unix_path)
        out.push_back(sockets_[i].addr.path);
    return out;
  }

  std::vector<int> fds() const {
    std::vector<int> out;
    for (const os::bound_socket& s : sockets_) out.push_back(s.fd.get());
    return out;
  }

  // Hands the fds over to a new owner; the unix files are still removed on destruction.
  std::vector<int> release_fds() {
    std::vector<int> out;
    for (os::bound_socket& s : sockets_) out.push_back(s.fd.release());
    return out;
  }

 private:
  // Logs and keeps `s`: "uwsgi socket 0 bound to TCP address ..." or, for an attached socket (not
  // ours: its unix file is left alone), "uwsgi zerg socket 0 attached to INET address ...".
  void add(os::bound_socket s, const char* how, const char* what = "uwsgi socket ") {
    const bool tcp = s.addr.type == os::address::kind::tcp;
    const bool zerg = std::string_view(what) != "uwsgi socket ";
    os::log(what, sockets_.size(), " ", how, " ", tcp ? (zerg ? "INET" : "TCP") : "UNIX",
            " address ", s.name, " fd ", s.fd.get());
    sockets_.push_back(std::move(s));
    owned_.push_back(!zerg);
  }

  // True when a socket attached from a zerg server is the one `addr` names.
  bool attached(const os::address& addr) const {
    for (std::size_t i = 0; i < sockets_.size(); ++i)
      if (!owned_[i] && os::names_socket(addr, sockets_[i])) return true;
    return false;
  }

  std::vector<os::bound_socket> sockets_;
  std::vector<bool> owned_;  // per socket: false for one attached from a zerg server
  bool keep_files_ = false;
};

// No master: this process is the only worker. INT/TERM/QUIT/HUP stop it (run_worker).
int serve_alone(const node_config& cfg, const router& r, const node_hooks& hooks,
                socket_set& sockets) {
  os::inherited_sockets::of_process().close_leftovers();
  os::log("spawned uWSGI worker 1 (pid: ", ::getpid(), ", cores: ", cfg.threads, ")");
  if (hooks.worker_start && !hooks.worker_start(1)) return failed_app_status;
  // Blocked before "node ready": a stop signal sent once the line is seen waits for run_worker's
  // signalfd instead of killing the process.
  sigset_t stops;
  ::sigemptyset(&stops);
  for (int signo : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) ::sigaddset(&stops, signo);
  ::pthread_sigmask(SIG_BLOCK, &stops, nullptr);
  os::log("node ready");
  return run_worker(cfg, r, sockets.release_fds());
}

}  // namespace

int run_node(const node_config& cfg, const router& r, const node_hooks& hooks) {
  os::step_trace("node.run");
  // The fork server's pre-forked worker: the master binds and hands it the sockets.
  if (is_preforked_worker()) serve_preforked_worker(cfg, r, hooks);
  // A master that ends before it started worker 1 drops its pre-forked worker.
  struct prefork_guard {
    ~prefork_guard() { dismiss_preforked_worker("the node ended before worker 1 started"); }
  } prefork;
  // Spooler processes need a master (as in uWSGI); so do the emperor channel of a vassal and the
  // legions (their threads live in the master).
  emperor_link emperor = emperor_link::from_environment();
  const bool alone = !cfg.master && cfg.processes <= 1 && cfg.spooler.dirs.empty() &&
                     cfg.legion.legions.empty() && !emperor.active();
  os::set_log_role(alone ? "worker 1" : "master");
  if (alone) dismiss_preforked_worker("no master");
  int status = 1;
  node_lifecycle life(cfg.process);  // process_setup.hpp: pidfiles, privileges, vacuum
  if (!life.before_bind()) return 1;
  {
    socket_set sockets;
    auto inherited = os::adopt_listening_fd(STDIN_FILENO);
    if (!inherited) os::log(inherited.error().message(), ": serving the configured sockets only");
    if (!sockets.attach_all(cfg)) return 1;
    if (!sockets.bind_all(cfg, inherited ? std::move(*inherited) : std::nullopt)) return 1;
    os::step_trace("node.bound");
    if (sockets.empty()) {
      os::log("no socket configured: nothing to serve");
      return 1;
    }
    if (std::optional<int> failed = life.after_bind(sockets.unix_paths())) return *failed;
    if (std::string title = process_title(cfg.process, alone ? 1 : 0); !title.empty())
      os::set_process_title(title);
    if (!alone)
      if (hook_outcome h = run_hooks(cfg.process, hook_point::master_start); !h.ok())
        return *h.exit_status;
    node_legion legions;  // before the workers are forked; ends after the master
    if (!legions.start(cfg.legion)) return 1;
    if (alone) {
      status = serve_alone(cfg, r, hooks, sockets);
    } else {
      master m(cfg, r, hooks, sockets.fds(), emperor);
      status = m.run();
      if (m.handed_over()) sockets.keep_files();
    }
  }
  os::log("goodbye to uWSGI.");
  return status;
}

}  // namespace brood::node

// run_node: bind the sockets, then either serve in this process (no master, one process) or run
// the master that forks and manages the workers.
#include "brood/node/node.hpp"

#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "brood/node/worker.hpp"
#include "brood/os/address.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"
#include "emperor_link.hpp"
#include "master.hpp"

namespace brood::node {
namespace {

// The node's listening sockets. Closing them (destruction) also removes the unix socket files
// the node created. Never destroyed in a forked worker (workers end with _exit).
class socket_set {
 public:
  socket_set() = default;
  socket_set(const socket_set&) = delete;
  socket_set& operator=(const socket_set&) = delete;
  ~socket_set() {
    for (os::bound_socket& s : sockets_) {
      s.fd.reset();
      if (s.addr.type == os::address::kind::unix_path) ::unlink(s.addr.path.c_str());
    }
  }

  // Binds every configured address and logs it; a listening socket inherited on fd 0 (an
  // on-demand vassal's) replaces the configured address it names, or is served in addition.
  // On the first failure logs why and returns false.
  bool bind_all(const node_config& cfg, std::optional<os::bound_socket> inherited) {
    for (const std::string& text : cfg.sockets) {
      auto addr = os::parse_address(text);
      if (!addr) {
        os::log("invalid socket address \"", text, "\": ", addr.error().message());
        return false;
      }
      if (inherited && os::names_socket(*addr, *inherited)) {
        add(std::move(*inherited), "inherited on fd 0 as");
        inherited.reset();
        continue;
      }
      auto s = os::bind_socket(*addr, cfg.listen_queue);
      if (!s) {
        os::log(s.error().message());
        return false;
      }
      add(std::move(*s), "bound to");
    }
    if (inherited) add(std::move(*inherited), "inherited on fd 0 as");
    return true;
  }

  bool empty() const noexcept { return sockets_.empty(); }

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
  void add(os::bound_socket s, const char* how) {
    const bool tcp = s.addr.type == os::address::kind::tcp;
    os::log("uwsgi socket ", sockets_.size(), " ", how, " ", tcp ? "TCP" : "UNIX", " address ",
            s.name, " fd ", s.fd.get());
    sockets_.push_back(std::move(s));
  }

  std::vector<os::bound_socket> sockets_;
};

// No master: this process is the only worker. INT/TERM/QUIT/HUP stop it (run_worker).
int serve_alone(const node_config& cfg, const router& r, const node_hooks& hooks,
                socket_set& sockets) {
  os::log("spawned uWSGI worker 1 (pid: ", ::getpid(), ", cores: 1)");
  if (hooks.worker_start && !hooks.worker_start(1)) return failed_app_status;
  os::log("node ready");
  return run_worker(cfg, r, sockets.release_fds());
}

}  // namespace

int run_node(const node_config& cfg, const router& r, const node_hooks& hooks) {
  // Spooler processes need a master (as in uWSGI); so does the emperor channel of a vassal.
  emperor_link emperor = emperor_link::from_environment();
  const bool alone =
      !cfg.master && cfg.processes <= 1 && cfg.spooler.dirs.empty() && !emperor.active();
  os::set_log_role(alone ? "worker 1" : "master");
  int status = 1;
  {
    socket_set sockets;
    auto inherited = os::adopt_listening_fd(STDIN_FILENO);
    if (!inherited) os::log(inherited.error().message(), ": serving the configured sockets only");
    if (!sockets.bind_all(cfg, inherited ? std::move(*inherited) : std::nullopt)) return 1;
    if (sockets.empty()) {
      os::log("no socket configured: nothing to serve");
      return 1;
    }
    if (alone) {
      status = serve_alone(cfg, r, hooks, sockets);
    } else {
      master m(cfg, r, hooks, sockets.fds(), emperor);
      status = m.run();
    }
  }
  os::log("goodbye to uWSGI.");
  return status;
}

}  // namespace brood::node

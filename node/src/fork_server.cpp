// serve_fork_server: the base's loop over its unix socket, its signals and its emperor channel;
// one request at a time (fork_server_request.hpp), forked by fork_server_fork.hpp.
#include "brood/node/fork_server.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "brood/os/event_loop.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"
#include "brood/os/signal_source.hpp"
#include "emperor_link.hpp"
#include "fork_server_fork.hpp"
#include "fork_server_request.hpp"

namespace brood::node {
namespace {

using clock = std::chrono::steady_clock;

constexpr int fork_backlog = 64;
// After an accept that failed for lack of resources, accepting resumes this much later.
constexpr std::chrono::milliseconds accept_pause{100};

// The bound socket file's identity, so that only this base's file is removed at the end (a
// successor may have bound the same path meanwhile).
struct file_id {
  dev_t dev = 0;
  ino_t ino = 0;
  static file_id of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {st.st_dev, st.st_ino};
  }
  bool operator==(const file_id&) const = default;
};

class fork_server_loop {
 public:
  fork_server_loop(os::bound_socket socket, os::signal_source signals, emperor_link emperor,
                   const fork_server_hooks& hooks, std::chrono::milliseconds io_timeout)
      : socket_(std::move(socket)),
        file_(file_id::of(socket_.addr.path)),
        signals_(std::move(signals)),
        emperor_(std::move(emperor)),
        hooks_(hooks),
        io_timeout_(io_timeout),
        emperor_pid_(::getppid()) {}

  fork_server_result run() {
    loop_.watch(socket_.fd.get(), [this] { on_acceptable(); });
    loop_.watch(signals_.fd(), [this] { on_signals(); });
    if (emperor_.active()) loop_.watch(emperor_.fd(), [this] { on_emperor(); });
    os::log("fork server: waiting for requests on ", socket_.name);
    emperor_.send(wire::vassal_message::ready);
    emperor_.send(wire::vassal_message::loyal);
    if (os::status st = loop_.run(); !st.ok()) {
      os::log("fork server: ", st.message(), "; stopping");
      status_ = 1;
    }
    if (adopted_) return become_vassal();
    if (file_id::of(socket_.addr.path) == file_) ::unlink(socket_.addr.path.c_str());
    return {std::nullopt, status_};
  }

 private:
  void on_acceptable() {
    os::unique_fd conn(::accept4(socket_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
        return;
      os::log("fork server: accept failed: ", std::strerror(errno), "; retrying in ",
              accept_pause.count(), " ms");
      loop_.pause_watch(socket_.fd.get(), accept_pause, [this] { on_acceptable(); });
      return;
    }
    serve(std::move(conn));
  }

  // One request: read, fork; in the grandchild, stops the loop with the request kept.
  void serve(os::unique_fd conn) {
    const int on = 1;
    ::setsockopt(conn.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    ucred peer{};
    socklen_t len = sizeof peer;
    ::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len);
    auto in = read_fork_request(conn.get(), ::geteuid(), clock::now() + io_timeout_);
    if (!in) {
      os::log("fork server: refused a request (peer pid ", peer.pid, "): ", in.error().message());
      return;  // its fds and the connection closed, no reply
    }
    const fork_outcome out = fork_twice(hooks_);
    if (out.adopted) {
      adopted_ = std::make_unique<received_fork_request>(std::move(*in));
      conn_ = std::move(conn);
      intermediate_ = out.intermediate;
      loop_.stop();
      return;
    }
    if (out.forked) {
      os::log("fork server: forked an adopted vassal for ", in->request.argv[0], " (",
              in->request.argv.size(), " args, ", in->fds.size(), " fds; request of pid ",
              in->peer_pid, ")");
    } else {
      os::log("fork server: the request of pid ", in->peer_pid, " was not forked");
    }
  }

  void on_signals() {
    for (int sig : signals_.read_pending()) {
      const char* name = ::sigabbrev_np(sig);
      os::log("fork server: SIG", name ? name : std::to_string(sig).c_str(), " received; stopping");
      status_ = 0;
      loop_.stop();
    }
  }

  void on_emperor() {
    const emperor_link::received got = emperor_.receive();
    if (!got.commands.empty()) {
      os::log("fork server: the emperor sent byte ", static_cast<int>(got.commands.front()),
              "; stopping");
      status_ = 0;
      loop_.stop();
    } else if (got.lost) {
      os::log("fork server: the emperor channel is closed; stopping");
      status_ = 1;
      loop_.stop();
    }
  }

  // In the grandchild: drops the base's own fds (the socket file stays), then the vassal's set-up.
  fork_server_result become_vassal() {
    loop_.unwatch(socket_.fd.get());
    loop_.unwatch(signals_.fd());
    if (emperor_.active()) loop_.unwatch(emperor_.fd());
    socket_.fd.reset();
    signals_.release_in_child();
    emperor_ = emperor_link();
    settle_adopted_vassal(*adopted_, std::move(conn_), intermediate_, emperor_pid_,
                          clock::now() + io_timeout_);
    return {std::move(adopted_->request.argv), 0};
  }

  os::event_loop loop_;
  os::bound_socket socket_;
  file_id file_;
  os::signal_source signals_;
  emperor_link emperor_;
  const fork_server_hooks& hooks_;
  std::chrono::milliseconds io_timeout_;
  pid_t emperor_pid_;
  int status_ = 0;
  // Set in the grandchild only.
  std::unique_ptr<received_fork_request> adopted_;
  os::unique_fd conn_;
  pid_t intermediate_ = -1;
};

}  // namespace

fork_server_result serve_fork_server(const std::string& path, const fork_server_hooks& hooks,
                                     std::chrono::milliseconds io_timeout) {
  auto signals = os::signal_source::open({SIGINT, SIGTERM, SIGQUIT});
  if (!signals) {
    os::log("fork server: ", signals.error().message());
    return {std::nullopt, 2};
  }
  emperor_link emperor = emperor_link::from_environment();
  os::address addr;
  addr.type = os::address::kind::unix_path;
  addr.path = path;
  os::bind_options opts;
  opts.unix_mode = 0600;
  auto bound = os::bind_socket(addr, fork_backlog, os::accept_when::connected, opts);
  if (!bound) {
    os::log("fork server: ", bound.error().message());
    return {std::nullopt, 2};
  }
  const int on = 1;
  if (::setsockopt(bound->fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    os::log("fork server: cannot set SO_PASSCRED on ", path, ": ", std::strerror(errno));
    ::unlink(path.c_str());
    return {std::nullopt, 2};
  }
  fork_server_loop server(std::move(*bound), std::move(*signals), std::move(emperor), hooks,
                          io_timeout);
  return server.run();
}

}  // namespace brood::node

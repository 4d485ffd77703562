// zerg_server: accept, check the peer's uid, one sendmsg with the framing and the fds, close.
#include "zerg_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "brood/os/fd_passing.hpp"
#include "brood/os/inherited_sockets.hpp"
#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/zerg_protocol.hpp"

namespace brood::node {
namespace {

constexpr int zerg_backlog = 64;
// Clients served per readable event; the rest wait for the next turn of the master's loop.
constexpr int clients_per_turn = 8;
// After an accept that failed for lack of resources (EMFILE, ENFILE, ENOBUFS...), accepting
// resumes this much later: the pending connection keeps the socket readable.
constexpr std::chrono::milliseconds accept_pause{100};

}  // namespace

os::result<std::unique_ptr<zerg_server>> zerg_server::open(os::event_loop& loop,
                                                           const std::string& path,
                                                           const std::vector<int>& fds,
                                                           std::function<void()> attached) {
  os::address addr;
  addr.type = os::address::kind::unix_path;
  addr.path = path;
  // A predecessor's zerg socket (a rolling re-fork: os/inherited_sockets.hpp) is served as it is.
  std::optional<os::bound_socket> bound = os::inherited_sockets::of_process().take(addr);
  if (!bound) {
    os::bind_options opts;
    opts.unix_mode = 0600;
    auto made = os::bind_socket(addr, zerg_backlog, os::accept_when::connected, opts);
    if (!made) return made.error().context("zerg server");
    bound = std::move(*made);
  }
  std::vector<int> unique;
  for (int fd : fds)
    if (fd >= 0 && std::find(unique.begin(), unique.end(), fd) == unique.end())
      unique.push_back(fd);
  unique.resize(std::min<std::size_t>(unique.size(), wire::max_passed_fds));
  return std::unique_ptr<zerg_server>(
      new zerg_server(loop, std::move(*bound), std::move(unique), std::move(attached)));
}

zerg_server::zerg_server(os::event_loop& loop, os::bound_socket socket, std::vector<int> fds,
                         std::function<void()> attached)
    : loop_(loop),
      socket_(std::move(socket)),
      fds_(std::move(fds)),
      attached_(std::move(attached)) {
  loop_.watch(socket_.fd.get(), [this] { on_readable(); });
}

zerg_server::~zerg_server() {
  if (resume_) loop_.cancel(resume_);
  if (!socket_.fd) return;
  loop_.unwatch(socket_.fd.get());
  socket_.fd.reset();
  if (!keep_file_) ::unlink(socket_.addr.path.c_str());
}

void zerg_server::on_readable() {
  for (int turn = 0; turn < clients_per_turn; ++turn) {
    os::unique_fd client(
        ::accept4(socket_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return;
      os::log("zerg server: accept failed: ", std::strerror(errno), "; retrying in ",
              accept_pause.count(), " ms");
      resume_ = loop_.pause_watch(socket_.fd.get(), accept_pause, [this] {
        resume_ = 0;
        on_readable();
      });
      return;
    }
    if (serve(client.get()) && attached_) attached_();
  }
}

bool zerg_server::serve(int client) {
  ucred peer{};
  socklen_t len = sizeof(peer);
  if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
    os::log("zerg server: cannot read the credentials of a client: ", std::strerror(errno),
            "; closed");
    return false;
  }
  const uid_t self = ::geteuid();
  if (peer.uid != self && peer.uid != 0) {
    os::log("zerg server: refused a client of uid ", peer.uid, " (pid ", peer.pid, "): only uid ",
            self, " and root may attach");
    return false;
  }
  const wire::fd_message_bytes data =
      wire::encode_fd_message(wire::fd_message_kind::zerg, static_cast<int>(fds_.size()));
  const std::string_view framing(reinterpret_cast<const char*>(data.data()),
                                 wire::fd_message_size(wire::fd_message_kind::zerg));
  const os::status st = os::send_with_fds(client, framing, fds_);
  if (!st.ok()) {
    os::log("zerg server: a zerg (pid ", peer.pid, ") did not get the sockets: ", st.message());
    return false;
  }
  os::log("zerg server: ", fds_.size(), " sockets handed to a zerg (pid ", peer.pid, ")");
  return true;
}

}  // namespace brood::node

// stats_server: accept, write one document, close.
#include "brood/os/stats_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "brood/os/address.hpp"
#include "brood/os/inherited_sockets.hpp"
#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {
namespace {

constexpr int stats_backlog = 16;
// A client gets this long to take its document; the master waits no longer on it.
constexpr std::chrono::milliseconds send_deadline{100};
// Clients served per readable event; the rest wait for the next turn of the master's loop.
constexpr int clients_per_turn = 4;
// After an accept that failed for lack of resources (EMFILE, ENFILE, ENOBUFS...), accepting
// resumes this much later: the pending connection keeps the socket readable.
constexpr std::chrono::milliseconds accept_pause{100};

// Writes all of `text` to the non-blocking `fd` within send_deadline. False when it could not.
bool send_all(int fd, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + send_deadline;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return true;
}

}  // namespace

result<std::unique_ptr<stats_server>> stats_server::open(event_loop& loop,
                                                         const std::string& address,
                                                         std::function<std::string()> document) {
  auto addr = parse_address(address);
  if (!addr) return addr.error().context("invalid stats address \"" + address + "\"");
  // A predecessor's stats socket (os/inherited_sockets.hpp) is served as it is.
  if (std::optional<bound_socket> inherited = inherited_sockets::of_process().take(*addr))
    return std::unique_ptr<stats_server>(
        new stats_server(loop, std::move(document), std::move(*inherited)));
  // A stats client sends nothing: its connection is accepted at once.
  auto bound = bind_socket(*addr, stats_backlog, accept_when::connected);
  if (!bound) return bound.error().context("stats server");
  return std::unique_ptr<stats_server>(
      new stats_server(loop, std::move(document), std::move(*bound)));
}

stats_server::stats_server(event_loop& loop, std::function<std::string()> document,
                           bound_socket socket)
    : loop_(loop), document_(std::move(document)), socket_(std::move(socket)) {
  loop_.watch(socket_.fd.get(), [this] { on_readable(); });
}

stats_server::~stats_server() {
  if (resume_) loop_.cancel(resume_);
  if (!socket_.fd) return;
  loop_.unwatch(socket_.fd.get());
  socket_.fd.reset();
  if (socket_.addr.type == address::kind::unix_path && !keep_file_)
    ::unlink(socket_.addr.path.c_str());
}

void stats_server::release_in_child() noexcept { socket_.fd.reset(); }

void stats_server::on_readable() {
  for (int served = 0; served < clients_per_turn;) {
    unique_fd client(::accept4(socket_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return;
      log("stats server: accept failed: ", std::strerror(errno), "; retrying in ",
          accept_pause.count(), " ms");
      resume_ = loop_.pause_watch(socket_.fd.get(), accept_pause, [this] {
        resume_ = 0;
        on_readable();
      });
      return;
    }
    ++served;
    if (!send_all(client.get(), document_()))
      log("stats server: a client did not take the document; dropped");
  }
}

}  // namespace brood::os

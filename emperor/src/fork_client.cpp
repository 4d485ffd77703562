// The fork-server client (see fork_client.hpp).
#include "fork_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "brood/os/fd_passing.hpp"
#include "brood/os/step_trace.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/fork_protocol.hpp"

namespace brood::emperor {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

bool set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
         ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
}

}  // namespace

bool is_unix_socket_at(int fd, const std::string& path) {
  sockaddr_un a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sun_family != AF_UNIX)
    return false;
  const std::size_t n =
      len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
  return std::string(a.sun_path, ::strnlen(a.sun_path, n)) == path;
}

wire::fork_request fork_request_of(const launch_spec& spec, int sockets) {
  wire::fork_request r;
  r.argv = spec.argv;
  r.on_demand_fd = spec.stdin_fd >= 0;
  r.sockets = sockets;
  if (!spec.set.empty()) {  // else byte for byte uWSGI's request
    r.env = spec.unset;
    r.env.insert(r.env.end(), spec.set.begin(), spec.set.end());
  }
  return r;
}

pid_t request_fork(const std::string& path, const wire::fork_request& request,
                   std::span<const int> fds, std::chrono::milliseconds timeout, std::string& error,
                   bool& timed_out) {
  timed_out = false;
  wire::bytes packet;
  if (const auto ec = wire::encode_fork_request(request, packet)) {
    error = "cannot encode the fork request: " + ec.message();
    return -1;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    error = "bad fork server socket path \"" + path + "\"";
    return -1;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  os::unique_fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // SO_PASSCRED on our side too: the kernel then attaches our credentials to the request
  // whatever the base's socket options (it serves its own uid only).
  const int on = 1;
  if (!sock || !set_timeouts(sock.get(), timeout) ||
      ::setsockopt(sock.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    error = "cannot create a socket: " + errno_text(errno);
    return -1;
  }
  // A blocking unix connect waits while the base's backlog is full, up to SO_SNDTIMEO.
  int rc;
  do {
    rc = ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
    error = "cannot connect to " + path + ": " + errno_text(errno);
    return -1;
  }
  const std::string_view data(reinterpret_cast<const char*>(packet.data()), packet.size());
  if (const os::status st = os::send_with_fds(sock.get(), data, fds); !st.ok()) {
    // A base that refuses may close before it reads: the same refusal as a close before the reply.
    if (st.code() == std::errc::broken_pipe || st.code() == std::errc::connection_reset) {
      error = path + " closed the connection without a reply (refused)";
      return -1;
    }
    timed_out = st.code() == std::errc::resource_unavailable_try_again;
    error = "cannot send the fork request to " + path + ": " + st.message();
    return -1;
  }
  os::step_trace("emperor.sent");
  wire::bytes reply;
  char buf[512];
  const wire::limits lim{};
  for (;;) {
    long long pid = 0;
    const auto r = wire::decode_fork_reply(reply, lim, pid);
    if (r.is_bad()) {
      error = "bad reply from " + path + ": " + r.why;
      return -1;
    }
    if (r.is_done()) {
      if (pid <= 0 || pid > 0x7fffffff) {
        error = "bad reply from " + path + ": pid " + std::to_string(pid);
        return -1;
      }
      os::step_trace("emperor.pid");
      return static_cast<pid_t>(pid);
    }
    const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      error = path + " closed the connection without a reply (refused)";
      return -1;
    }
    if (n < 0) {
      timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
      error = errno == EAGAIN || errno == EWOULDBLOCK
                  ? "no reply from " + path + " within " + std::to_string(timeout.count()) + " ms"
                  : "cannot read the reply from " + path + ": " + errno_text(errno);
      return -1;
    }
    reply.insert(reply.end(), buf, buf + n);
  }
}

}  // namespace brood::emperor

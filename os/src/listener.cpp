// Binding the node's listening sockets: TCP (IPv4, IPv6, host names) and unix paths.
#include "brood/os/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "brood/os/socket_address.hpp"

namespace brood::os {
namespace {

std::error_code last_error() noexcept { return {errno, std::system_category()}; }

// Removes a socket file nobody listens on any more. A live socket (connect succeeds) or a file
// that is not a socket is left alone; bind then fails with EADDRINUSE.
void unlink_stale_socket(const socket_address& a, const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return;
  bool live = ::connect(probe, a.get(), a.size) == 0;
  ::close(probe);
  if (!live) ::unlink(path.c_str());
}

constexpr int defer_accept_seconds = 5;

// socket + SO_REUSEADDR + bind + listen. On failure `why` gets the failing step's reason; `fd`
// stays open only when bind succeeded (a unix socket file then exists).
std::error_code bind_listen(const socket_address& a, int backlog, accept_when when, bool reuse_port,
                            unique_fd& fd, std::string& why) {
  fd.reset(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return last_error();
  if (a.family() != AF_UNIX) {
    int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
      return last_error();
    if (reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      why = "SO_REUSEPORT failed";
      return last_error();
    }
  }
  if (::bind(fd.get(), a.get(), a.size) != 0) {
    auto ec = last_error();
    fd.reset();
    return ec;
  }
  if (::listen(fd.get(), backlog) != 0) {
    why = "listen failed";
    return last_error();
  }
  if (a.family() != AF_UNIX && when == accept_when::first_bytes) {
    // Accept a connection only once its first request bytes are in: the worker's first read then
    // succeeds, and connections that send nothing never wake a worker. Best effort.
    int seconds = defer_accept_seconds;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds));
  }
  return {};
}

}  // namespace

result<bound_socket> bind_socket(const address& addr, int backlog, accept_when when,
                                 const bind_options& opts) {
  const std::string shown =
      addr.type == address::kind::tcp ? addr.host + ":" + std::to_string(addr.port) : addr.path;
  const bool is_unix = addr.type == address::kind::unix_path;
  auto raw = resolve_address(addr, resolve_for::bind);
  if (!raw) return raw.error().context("cannot bind " + shown);
  if (is_unix) unlink_stale_socket(*raw, addr.path);
  std::string detail;
  unique_fd fd;
  std::error_code ec = bind_listen(*raw, backlog, when, opts.reuse_port, fd, detail);
  if (!ec && is_unix && ::chmod(addr.path.c_str(), opts.unix_mode) != 0) {
    detail = "chmod failed";
    ec = last_error();
  }
  if (ec) {
    if (is_unix && fd) ::unlink(addr.path.c_str());  // bound, then failed: our file
    std::string why = "cannot bind " + shown + ": " + (detail.empty() ? ec.message() : detail);
    if (!detail.empty()) why += ": " + ec.message();
    return status(ec, std::move(why));
  }
  bound_socket out;
  out.addr = addr;
  out.name = addr.type == address::kind::tcp ? local_name(fd.get()) : addr.path;
  out.fd = std::move(fd);
  return out;
}

bool is_listening_socket(int fd) noexcept {
  int listening = 0;
  socklen_t len = sizeof(listening);
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
}

namespace {

// True when `fd` is a listening SOCK_STREAM socket.
bool is_listening_stream(int fd) noexcept {
  int type = 0;
  socklen_t len = sizeof(type);
  return is_listening_socket(fd) && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
         type == SOCK_STREAM;
}

// `out.addr` and `out.name` from getsockname on `fd`. False (errno EINVAL for a family that is
// neither unix nor IP) when it cannot be described; `why` says which step failed.
bool describe(int fd, bound_socket& out, std::string& why) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    why = "getsockname";
    return false;
  }
  if (sa.ss_family == AF_UNIX) {
    out.addr.type = address::kind::unix_path;
    out.addr.path = reinterpret_cast<const sockaddr_un*>(&sa)->sun_path;
    out.name = out.addr.path;
    return true;
  }
  errno = EINVAL;
  why = "not a unix or IP socket";
  if (sa.ss_family != AF_INET && sa.ss_family != AF_INET6) return false;
  out.name = local_name(fd);
  auto parsed = parse_address(out.name);
  if (!parsed) {
    why = "cannot parse its name \"" + out.name + "\"";
    errno = EINVAL;
    return false;
  }
  out.addr = *parsed;
  return true;
}

bool make_non_blocking(int fd) noexcept {
  return ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0;
}

}  // namespace

result<std::optional<bound_socket>> adopt_listening_fd(int fd) {
  if (!is_listening_stream(fd)) return std::optional<bound_socket>();
  const std::string where = "cannot adopt the listening socket on fd " + std::to_string(fd);
  bound_socket out;
  std::string why;
  if (!describe(fd, out, why)) {
    if (why == "not a unix or IP socket") return std::optional<bound_socket>();
    return status::last_errno(where + ": " + why);
  }
  out.fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!out.fd) return status::last_errno(where + ": cannot duplicate it");
  if (!make_non_blocking(out.fd.get()))
    return status::last_errno(where + ": cannot make it non-blocking");
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, fd);  // dup2 clears close-on-exec on `fd`
    ::close(null);
  }
  return std::optional<bound_socket>(std::move(out));
}

result<bound_socket> adopt_socket(unique_fd fd) {
  const std::string where = "cannot adopt the socket on fd " + std::to_string(fd.get());
  if (!is_listening_stream(fd.get()))
    return status(std::make_error_code(std::errc::invalid_argument),
                  where + ": not a listening stream socket");
  bound_socket out;
  std::string why;
  if (!describe(fd.get(), out, why)) return status::last_errno(where + ": " + why);
  if (!make_non_blocking(fd.get()))
    return status::last_errno(where + ": cannot make it non-blocking");
  out.fd = std::move(fd);
  return out;
}

bool names_socket(const address& addr, const bound_socket& s) {
  if (addr.type != s.addr.type) return false;
  if (addr.type == address::kind::unix_path) return addr.path == s.addr.path;
  auto any = [](const std::string& h) { return h.empty() || h == "0.0.0.0"; };
  return addr.port == s.addr.port &&
         (addr.host == s.addr.host || (any(addr.host) && any(s.addr.host)));
}

}  // namespace brood::os

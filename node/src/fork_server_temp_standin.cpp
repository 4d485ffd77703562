// TEMP stand-in for BASE's serve_fork_server (ADOPT's local testing only; dropped at merge).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "brood/node/fork_server.hpp"
#include "brood/os/fd_passing.hpp"
#include "brood/os/log.hpp"
#include "brood/wire/fork_protocol.hpp"

namespace brood::node {
namespace {

int bind_path(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  ::unlink(path.c_str());
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(fd, 16) < 0) {
    ::close(fd);
    return -1;
  }
  ::chmod(path.c_str(), 0600);
  return fd;
}

bool read_request(int c, wire::fork_request& req, std::vector<os::unique_fd>& fds) {
  char buf[70000];
  std::size_t have = 0;
  auto got = os::receive_with_fds(c, std::span<char>(buf, sizeof buf), wire::max_fork_fds);
  if (!got || got->fds_truncated || got->size == 0) return false;
  have = got->size;
  fds = std::move(got->fds);
  while (have < 4) {
    ssize_t n = ::read(c, buf + have, sizeof buf - have);
    if (n <= 0) return false;
    have += static_cast<std::size_t>(n);
  }
  auto h = wire::decode_header(wire::bytes_view(reinterpret_cast<const wire::byte*>(buf), 4));
  if (wire::check_fork_header(h).is_bad()) return false;
  while (have < 4u + h.size) {
    ssize_t n = ::read(c, buf + have, sizeof buf - have);
    if (n <= 0) return false;
    have += static_cast<std::size_t>(n);
  }
  wire::limits lim;
  lim.buffer_size = 65535;
  auto r = wire::decode_fork_request(
      h, wire::bytes_view(reinterpret_cast<const wire::byte*>(buf) + 4, h.size),
      static_cast<int>(fds.size()), lim, req);
  return r.is_done();
}

}  // namespace

fork_server_result serve_fork_server(const std::string& path, const fork_server_hooks& hooks,
                                     std::chrono::milliseconds) {
  fork_server_result out;
  int listen_fd = bind_path(path);
  if (listen_fd < 0) {
    os::log("fork server: cannot bind ", path);
    out.exit_status = 2;
    return out;
  }
  int emperor = -1;
  if (const char* e = std::getenv("UWSGI_EMPEROR_FD")) emperor = std::atoi(e);
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGQUIT}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);
  os::log("fork server on ", path);
  if (emperor >= 0) {
    char b[2] = {1, 17};
    (void)!::send(emperor, b, 2, MSG_NOSIGNAL);
  }
  const pid_t base_parent = ::getppid();
  for (;;) {
    pollfd p[3] = {{listen_fd, POLLIN, 0}, {sfd, POLLIN, 0}, {emperor, POLLIN, 0}};
    if (::poll(p, emperor >= 0 ? 3 : 2, -1) < 0) continue;
    if (p[1].revents) {
      ::close(listen_fd);
      ::unlink(path.c_str());
      return out;
    }
    if (emperor >= 0 && p[2].revents) {
      char b;
      out.exit_status = ::read(emperor, &b, 1) == 1 ? 0 : 1;
      ::close(listen_fd);
      ::unlink(path.c_str());
      return out;
    }
    int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    wire::fork_request req;
    std::vector<os::unique_fd> fds;
    if (!read_request(c, req, fds)) {
      os::log("fork server: bad request refused");
      ::close(c);
      continue;
    }
    if (hooks.before_fork) hooks.before_fork();
    pid_t child = ::fork();
    if (child != 0) {
      if (hooks.after_fork_parent) hooks.after_fork_parent();
      ::close(c);
      int st;
      ::waitpid(child, &st, 0);
      continue;
    }
    const pid_t middle = ::getpid();
    if (::fork() != 0) ::_exit(0);
    if (hooks.after_fork_child) hooks.after_fork_child();
    ::close(listen_fd);
    ::close(sfd);
    if (emperor >= 0) ::close(emperor);
    std::size_t i = 0;
    auto keep = [&](os::unique_fd& f) {
      int fd = f.release();
      ::fcntl(fd, F_SETFD, 0);
      return fd;
    };
    ::setenv("UWSGI_EMPEROR_FD", std::to_string(keep(fds[i++])).c_str(), 1);
    if (req.config_fd)
      ::setenv("UWSGI_EMPEROR_FD_CONFIG", std::to_string(keep(fds[i++])).c_str(), 1);
    if (req.on_demand_fd) {
      int fd = keep(fds[i++]);
      ::dup2(fd, 0);
      ::close(fd);
    }
    std::string list;
    for (; i < fds.size(); ++i) list += (list.empty() ? "" : ",") + std::to_string(keep(fds[i]));
    if (!list.empty()) ::setenv("BROOD_INHERITED_SOCKETS", list.c_str(), 1);
    for (const std::string& e : req.env) {
      auto eq = e.find('=');
      if (eq == std::string::npos)
        ::unsetenv(e.c_str());
      else
        ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    ::unsetenv("UWSGI_RELOADS");
    ::unsetenv("NOTIFY_SOCKET");
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    wire::bytes reply = wire::encode_fork_reply(::getpid());
    (void)!::write(c, reply.data(), reply.size());
    ::close(c);
    for (int n = 0; n < 1000 && ::getppid() == middle; ++n) ::usleep(1000);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != base_parent) ::_exit(1);
    out.adopted_argv = req.argv;
    return out;
  }
}

}  // namespace brood::node

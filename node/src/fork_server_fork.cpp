// fork_twice and settle_adopted_vassal: the base's fork, the intermediate child, and the
// grandchild that becomes an adopted vassal.
#include "fork_server_fork.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "brood/os/inherited_sockets.hpp"
#include "brood/os/log.hpp"
#include "brood/wire/emperor_protocol.hpp"

namespace brood::node {
namespace {

using clock = std::chrono::steady_clock;

constexpr const char* config_fd_env = "UWSGI_EMPEROR_FD_CONFIG";
// How long the grandchild waits for the intermediate child's exit to re-parent it.
constexpr std::chrono::milliseconds reparent_wait{1000};

void call(const std::function<void()>& hook) {
  if (hook) hook();
}

// Moves `fd` above 2 when it sits on stdin/stdout/stderr (the base ran with one of them closed),
// so that exporting the on-demand socket on fd 0 never clobbers another fd of the request.
void lift(os::unique_fd& fd) {
  if (fd.get() < 0 || fd.get() > 2) return;
  const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved >= 0) fd.reset(moved);
}

// Releases `fd` for the vassal: it stays open (also across an exec) under its number.
int exported(os::unique_fd& fd) {
  const int n = fd.release();
  const int flags = ::fcntl(n, F_GETFD);
  if (flags >= 0) ::fcntl(n, F_SETFD, flags & ~FD_CLOEXEC);
  return n;
}

void set_env(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }

// "K=V" sets K, "K" unsets it.
void apply_env_change(const std::string& change) {
  const auto eq = change.find('=');
  if (eq == std::string::npos) {
    ::unsetenv(change.c_str());
  } else {
    ::setenv(change.substr(0, eq).c_str(), change.c_str() + eq + 1, 1);
  }
}

// As an exec would leave them: caught signals back to their default, ignored ones still ignored
// (Python's SIGPIPE and SIGXFSZ), except SIGCHLD, always default (the vassal reaps its
// workers); an empty mask.
void exec_like_signals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction now {};
    if (::sigaction(sig, nullptr, &now) != 0) continue;  // EINVAL: glibc's own signals
    const bool handler = (now.sa_flags & SA_SIGINFO) == 0;
    const bool ignored = handler && now.sa_handler == SIG_IGN;
    const bool default_already = handler && now.sa_handler == SIG_DFL;
    if (!default_already && (!ignored || sig == SIGCHLD)) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The process whose signals settle_signals_ahead left as exec_like_signals would (0: none).
pid_t signals_settled_in = 0;

// Writes the whole reply on the (non-blocking) connection by `deadline`; errno set on failure.
bool send_reply(int conn, clock::time_point deadline) {
  const wire::bytes reply = wire::encode_fork_reply(::getpid());
  std::size_t sent = 0;
  while (sent < reply.size()) {
    const ssize_t n = ::send(conn, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p{conn, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return true;
}

// Returns once the parent is no longer `intermediate` (its exit re-parents this process first,
// then makes its pidfd readable), or after reparent_wait.
void wait_reparented(pid_t intermediate) {
  if (::getppid() != intermediate) return;
  os::unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, intermediate, 0)));
  if (!pidfd || ::getppid() != intermediate) return;  // gone meanwhile (or no pidfd: checked late)
  const auto deadline = clock::now() + reparent_wait;
  while (::getppid() == intermediate) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return;
    pollfd p{pidfd.get(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace

fork_outcome fork_twice(const fork_server_hooks& hooks) {
  call(hooks.before_fork);
  const pid_t child = ::fork();
  if (child == 0) {
    const pid_t intermediate = ::getpid();
    const pid_t grandchild = ::fork();
    if (grandchild < 0) {
      os::log("fork server: cannot fork the adopted vassal: ", std::strerror(errno));
      ::_exit(1);
    }
    if (grandchild > 0) ::_exit(0);
    call(hooks.after_fork_child);
    return {true, true, intermediate};
  }
  const int fork_errno = errno;
  call(hooks.after_fork_parent);
  if (child < 0) {
    os::log("fork server: cannot fork: ", std::strerror(fork_errno));
    return {};
  }
  int status = 0;
  pid_t waited = -1;
  do {
    waited = ::waitpid(child, &status, 0);
  } while (waited < 0 && errno == EINTR);
  fork_outcome out;
  out.intermediate = child;
  // ECHILD: SIGCHLD is ignored, the child reaped itself; its status is unknown.
  out.forked = waited == child ? WIFEXITED(status) && WEXITSTATUS(status) == 0 : errno == ECHILD;
  return out;
}

void export_request_and_reply(received_fork_request& in, os::unique_fd conn,
                              clock::time_point deadline) {
  lift(conn);
  export_request(in);
  if (!send_reply(conn.get(), deadline)) {
    os::log("adopted vassal: cannot send its pid to the emperor: ", std::strerror(errno),
            "; exiting");
    ::_exit(1);
  }
}

void export_request(received_fork_request& in) {
  for (os::unique_fd& fd : in.fds) lift(fd);
  const wire::fork_request& r = in.request;
  std::size_t next = 0;
  set_env(wire::emperor_fd_env, std::to_string(exported(in.fds[next++])));
  if (r.config_fd) {
    set_env(config_fd_env, std::to_string(exported(in.fds[next++])));
  } else {
    ::unsetenv(config_fd_env);
  }
  if (r.on_demand_fd) {
    if (::dup2(in.fds[next].get(), STDIN_FILENO) < 0)
      os::log("adopted vassal: cannot put the on-demand socket on fd 0: ", std::strerror(errno));
    in.fds[next++].reset();
  }
  std::string inherited;
  for (; next < in.fds.size(); ++next) {
    if (!inherited.empty()) inherited += ',';
    inherited += std::to_string(exported(in.fds[next]));
  }
  if (inherited.empty()) {
    ::unsetenv(os::inherited_sockets_variable);
  } else {
    set_env(os::inherited_sockets_variable, inherited);
  }
  ::unsetenv("UWSGI_RELOADS");
  ::unsetenv("NOTIFY_SOCKET");
  for (const std::string& change : r.env) apply_env_change(change);
  if (signals_settled_in != ::getpid()) exec_like_signals();
}

void settle_signals_ahead() {
  exec_like_signals();
  signals_settled_in = ::getpid();
}

void await_emperor_parent(pid_t intermediate, pid_t emperor, const char* who) {
  wait_reparented(intermediate);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (const pid_t parent = ::getppid(); parent != emperor) {
    os::log(who, ": its parent is pid ", parent, ", not the emperor (pid ", emperor,
            "): the emperor is gone; exiting");
    ::_exit(1);
  }
}

void log_adopted(const wire::fork_request& r) {
  os::log("adopted vassal (pid ", ::getpid(), ") forked from the fork server: ", joined(r.argv));
}

void settle_adopted_vassal(received_fork_request& in, os::unique_fd conn, pid_t intermediate,
                           pid_t emperor, clock::time_point deadline) {
  export_request_and_reply(in, std::move(conn), deadline);
  await_emperor_parent(intermediate, emperor, "adopted vassal");
  log_adopted(in.request);
}

}  // namespace brood::node

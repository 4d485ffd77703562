#include "detached.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace brood::legion {
namespace {

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const std::string& x : extra)
      if (x.compare(0, name.size() + 1, name + "=") == 0) replaced = true;
    if (!replaced) out.push_back(kv);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

// The grandchild: waits for the parent's go (it holds our pidfd by then), then execs the shell.
// Only async-signal-safe calls: the parent may have other threads.
[[noreturn]] void run_grandchild(int go_read, int go_write, char* const* argv, char* const* envp) {
  ::close(go_write);
  char c = 0;
  ssize_t n;
  while ((n = ::read(go_read, &c, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) ::_exit(127);
  ::setsid();
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int nul = ::open("/dev/null", O_RDONLY);
  if (nul >= 0 && nul != 0) ::dup2(nul, 0);
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  ::execve("/bin/sh", argv, envp);
  ::_exit(127);
}

}  // namespace

std::optional<detached_process> spawn_detached(const std::string& command,
                                               const std::vector<std::string>& extra_env,
                                               std::string& error) {
  std::vector<std::string> env = merged_environment(extra_env);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  int report[2], go[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (::pipe2(go, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    ::close(report[0]);
    ::close(report[1]);
    return std::nullopt;
  }
  const pid_t mid = ::fork();
  if (mid == 0) {
    const pid_t d = ::fork();
    if (d == 0) run_grandchild(go[0], go[1], argv, envp.data());
    (void)::write(report[1], &d, sizeof d);
    ::_exit(0);
  }
  ::close(report[1]);
  ::close(go[0]);
  os::unique_fd report_fd(report[0]);
  os::unique_fd go_fd(go[1]);
  if (mid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return std::nullopt;
  }
  pid_t d = -1;
  ssize_t n;
  while ((n = ::read(report_fd.get(), &d, sizeof d)) < 0 && errno == EINTR) {
  }
  while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }  // ECHILD: the owner reaped it first
  if (n != static_cast<ssize_t>(sizeof d) || d <= 0) {
    error = "fork of the command failed";
    return std::nullopt;
  }
  detached_process p;
  p.pid = d;
  p.pidfd = os::unique_fd(static_cast<int>(::syscall(SYS_pidfd_open, d, 0)));
  if (!p.pidfd) {
    error = std::string("pidfd_open: ") + std::strerror(errno);
    ::kill(d, SIGKILL);  // still waiting for its go: nothing ran
    return std::nullopt;
  }
  const char go_byte = 'g';
  (void)::write(go_fd.get(), &go_byte, 1);
  return p;
}

bool wait_exit(const detached_process& p, std::chrono::milliseconds timeout) {
  if (!p.pidfd) return true;
  pollfd f{p.pidfd.get(), POLLIN, 0};
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    const int r = ::poll(&f, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;
  }
}

void signal_group(const detached_process& p, int sig) {
  if (p.pid > 0) ::kill(-p.pid, sig);
}

}  // namespace brood::legion

// The forked vassal's side of os_launcher::launch (see vassal_exec.hpp).
#include "vassal_exec.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "brood/wire/emperor_protocol.hpp"

extern char** environ;

namespace brood::emperor {
namespace {

std::string env_key(const std::string& entry) { return entry.substr(0, entry.find('=')); }

bool contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// The vassal's environment: ours, minus `unset` and anything `set` replaces, plus `set` (the
// last entry of a key wins) and the channel fd.
std::vector<std::string> vassal_env(const launch_spec& spec, int channel_fd) {
  std::vector<std::string> dropped = spec.unset;
  dropped.push_back(wire::emperor_fd_env);
  std::vector<std::string> set;  // keys of spec.set, last one wins
  for (auto it = spec.set.rbegin(); it != spec.set.rend(); ++it) {
    const std::string key = env_key(*it);
    if (key == wire::emperor_fd_env || contains(dropped, key)) continue;
    dropped.push_back(key);
    set.push_back(*it);
  }
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    if (!contains(dropped, env_key(entry))) env.push_back(std::move(entry));
  }
  env.insert(env.end(), set.rbegin(), set.rend());
  env.push_back(std::string(wire::emperor_fd_env) + "=" + std::to_string(channel_fd));
  return env;
}

void write_all(int fd, const char* text, std::size_t len) noexcept {
  while (len > 0) {
    const ssize_t n = ::write(fd, text, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    len -= static_cast<std::size_t>(n);
  }
}

void reset_signals() noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // KILL/STOP: EINVAL
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

bool setup_stdin(int stdin_fd) noexcept {
  if (stdin_fd < 0) {
    stdin_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (stdin_fd < 0) return false;
  }
  if (stdin_fd == STDIN_FILENO) return ::fcntl(STDIN_FILENO, F_SETFD, 0) == 0;
  return ::dup2(stdin_fd, STDIN_FILENO) == STDIN_FILENO;  // dup2 clears FD_CLOEXEC
}

// Closes every fd >= 3 except `keep` (>= 3).
void close_fds_except(int keep) noexcept {
  const unsigned k = static_cast<unsigned>(keep);
  if (::close_range(3, k - 1, 0) == 0 && ::close_range(k + 1, ~0U, 0) == 0) return;
  rlimit lim{};
  int max = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    max = static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 1 << 20));
  for (int fd = 3; fd < max; ++fd)
    if (fd != keep) ::close(fd);
}

[[noreturn]] void fail(const exec_plan& plan, const char* what, int err) noexcept {
  write_all(STDERR_FILENO, plan.exec_error.data(), plan.exec_error.size());
  write_all(STDERR_FILENO, what, std::strlen(what));
  const char* text = ::strerrordesc_np(err);  // no locale, no allocation (vfork child)
  if (text == nullptr) text = "unknown error";
  write_all(STDERR_FILENO, text, std::strlen(text));
  write_all(STDERR_FILENO, "\n", 1);
  ::_exit(exec_failed_status);
}

}  // namespace

exec_plan make_exec_plan(const launch_spec& spec, int channel_fd) {
  exec_plan plan;
  plan.args = spec.argv;
  plan.env = vassal_env(spec, channel_fd);
  for (auto& a : plan.args) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  plan.channel_fd = channel_fd;
  plan.stdin_fd = spec.stdin_fd;
  plan.parent = ::getpid();
  if (spec.nice > 0) {
    // getpriority may return -1 as a value: errno tells.
    errno = 0;
    const int now = ::getpriority(PRIO_PROCESS, 0);
    if (errno == 0) plan.nice = std::min(19, now + spec.nice);
  }
  plan.exec_error = "[brood emperor] vassal " + spec.name + ": cannot exec " + spec.argv[0] + ": ";
  return plan;
}

void exec_vassal(const exec_plan& plan) noexcept {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != plan.parent)
    ::_exit(exec_failed_status);  // the emperor died before the death signal was armed
  reset_signals();
  if (!setup_stdin(plan.stdin_fd)) fail(plan, "stdin: ", errno);
  if (plan.nice && ::setpriority(PRIO_PROCESS, 0, *plan.nice) != 0) fail(plan, "nice: ", errno);
  close_fds_except(plan.channel_fd);
  if (::fcntl(plan.channel_fd, F_SETFD, 0) != 0) fail(plan, "channel: ", errno);
  ::execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
  fail(plan, "", errno);
}

pid_t spawn_vassal(const exec_plan& plan) noexcept {
  // Blocked in the child until exec_vassal has reset every handler: a handler of ours never
  // runs in the child, which shares our memory until it execs.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::vfork();
  if (pid == 0) exec_vassal(plan);
  const int saved = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return pid;
}

}  // namespace brood::emperor

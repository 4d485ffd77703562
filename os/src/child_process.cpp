#include "brood/os/child_process.hpp"

#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "brood/os/log.hpp"

namespace brood::os {

result<pid_t> fork_child(const std::function<int()>& body) {
  // Flush first, or the child would write the parent's buffered output a second time.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return status::last_errno("cannot fork");
  if (pid > 0) return pid;
  int status = 1;
  try {
    status = body();
  } catch (const std::exception& e) {
    log("process body failed: ", e.what());
  } catch (...) {
    log("process body failed with an unknown exception");
  }
  std::fflush(nullptr);
  ::_exit(status);
}

reaped_child reap_one() noexcept {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return {};
    return {pid, status};
  }
}

std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status))
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    std::string text = "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
    if (WCOREDUMP(wait_status)) text += ", core dumped";
    return text;
  }
  return "ended with wait status " + std::to_string(wait_status);
}

result<std::string> self_exe() {
  std::string buf(PATH_MAX, '\0');
  for (;;) {
    const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size());
    if (n < 0) return status::last_errno("cannot read /proc/self/exe");
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

std::vector<std::string> environment_strings() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
  return out;
}

}  // namespace brood::os

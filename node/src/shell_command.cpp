#include "shell_command.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

extern char** environ;

namespace brood::node {

os::result<pid_t> spawn_shell(const std::string& command, bool new_session) {
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t none;
  sigset_t all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (new_session) flags |= POSIX_SPAWN_SETSID;
  ::posix_spawnattr_setflags(&attr, flags);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  const int err =
      ::posix_spawn(&pid, "/bin/sh", nullptr, &attr, const_cast<char* const*>(argv), environ);
  ::posix_spawnattr_destroy(&attr);
  if (err != 0) return os::status::from_errno(err, "cannot run \"" + command + "\"");
  return pid;
}

os::result<int> run_shell(const std::string& command) {
  auto pid = spawn_shell(command);
  if (!pid) return pid.error();
  int st = 0;
  while (::waitpid(*pid, &st, 0) < 0) {
    if (errno != EINTR) return os::status::last_errno("cannot wait for \"" + command + "\"");
  }
  return st;
}

}  // namespace brood::node

#include "log_output.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "brood/os/unique_fd.hpp"

namespace brood::cli {
namespace {

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// log-backupname, else "PATH.UNIXTIME" (".N" added when that name is taken: several rotations
// in one second keep every file).
std::string backup_name(const node::log_config& cfg) {
  if (!cfg.log_backupname.empty()) return cfg.log_backupname;
  const std::string base = cfg.logto + "." + std::to_string(std::time(nullptr));
  std::string name = base;
  for (int n = 1; ::access(name.c_str(), F_OK) == 0; ++n) name = base + "." + std::to_string(n);
  return name;
}

// The logger process: copies the pipe into the file, renaming the file once it reaches
// cfg.log_maxsize. Returns at EOF (every writer gone).
[[noreturn]] void run_logger(int in, int out, const node::log_config& cfg) {
  ::signal(SIGINT, SIG_IGN);  // the node's stop signals must not cut its last lines
  ::signal(SIGTERM, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGQUIT, SIG_IGN);
  struct stat st {};
  std::size_t size = ::fstat(out, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(0);
    write_all(out, buf, static_cast<std::size_t>(n));
    size += static_cast<std::size_t>(n);
    if (size < cfg.log_maxsize) continue;
    const std::string backup = backup_name(cfg);
    if (::rename(cfg.logto.c_str(), backup.c_str()) != 0) continue;  // keep writing this one
    const int fresh = open_log(cfg.logto);
    if (fresh < 0) continue;
    ::close(out);
    out = fresh;
    size = 0;
  }
}

// Forks: -1 in the detached child (which goes on), else the status the caller exits with.
int detach() {
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "brood: cannot daemonize: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid > 0) return 0;
  ::setsid();
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  return -1;
}

}  // namespace

int redirect_output(const node::log_config& cfg) {
  if (cfg.logto.empty()) return -1;
  os::unique_fd file(open_log(cfg.logto));
  if (!file) {
    std::fprintf(stderr, "brood: cannot open log file '%s': %s\n", cfg.logto.c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (cfg.daemonize)
    if (const int status = detach(); status >= 0) return status;  // the parent
  int target = file.get();
  os::unique_fd pipe_write;
  if (cfg.log_maxsize > 0) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) {
      std::fprintf(stderr, "brood: cannot make the log pipe: %s\n", std::strerror(errno));
      return 1;
    }
    const pid_t logger = ::fork();
    if (logger == 0) {
      ::close(ends[1]);
      run_logger(ends[0], file.release(), cfg);
    }
    ::close(ends[0]);
    pipe_write = os::unique_fd(ends[1]);
    if (logger < 0) {
      std::fprintf(stderr, "brood: cannot start the logger: %s\n", std::strerror(errno));
      return 1;
    }
    target = pipe_write.get();
  }
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(target, STDOUT_FILENO);  // dup2 clears close-on-exec: the node's children inherit it
  ::dup2(target, STDERR_FILENO);
  return -1;
}

}  // namespace brood::cli

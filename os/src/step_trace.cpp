// step_trace (step_trace.hpp): one line per call, appended with one write(2) on a kept fd.
#include "brood/os/step_trace.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace brood::os {
namespace {

// Where the kept fd is put: above the numbers a process hands out or expects to find free.
constexpr int trace_fd_floor = 200;

// The trace file's fd in this process, its path and the file it was opened on (-1: none yet);
// the pid, cleared in a forked child by the atfork handler.
struct trace_state {
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  pid_t pid = 0;
  char path[256] = {};
};

trace_state& trace() {
  static trace_state s;
  return s;
}

// Held while a line is made and written (threads of one process share the kept fd); a forked
// child starts with it free.
std::atomic_flag busy = ATOMIC_FLAG_INIT;

void after_fork_child() {
  trace().pid = 0;
  busy.clear(std::memory_order_release);
}

// The kept fd when it is still the trace file of `path` (a vassal's fd clean-up may have closed
// it and its number been reused), else a new one (the old one closed when it was still
// ours); -1 when the file cannot be opened.
int trace_fd(const char* path) {
  trace_state& s = trace();
  struct stat st {};
  const bool same_path = std::strncmp(path, s.path, sizeof s.path) == 0;
  const bool ours =
      s.fd >= 0 && ::fstat(s.fd, &st) == 0 && st.st_dev == s.dev && st.st_ino == s.ino;
  if (ours && same_path) return s.fd;
  if (ours) ::close(s.fd);
  s.fd = -1;
  const int opened = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (opened < 0) return -1;
  int fd = ::fcntl(opened, F_DUPFD_CLOEXEC, trace_fd_floor);
  if (fd >= 0) {
    ::close(opened);
  } else {
    fd = opened;
  }
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return -1;
  }
  s.fd = fd;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  std::strncpy(s.path, path, sizeof s.path - 1);
  return fd;
}

pid_t trace_pid() {
  static const bool registered = ::pthread_atfork(nullptr, nullptr, after_fork_child) == 0;
  trace_state& s = trace();
  if (s.pid == 0 || !registered) s.pid = ::getpid();
  return s.pid;
}

}  // namespace

void step_trace(const char* name) noexcept {
  const char* path = std::getenv("BROOD_STEP_TRACE");
  if (path == nullptr || *path == '\0') return;
  const int saved = errno;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const long long cpu_us =
      (static_cast<long long>(usage.ru_utime.tv_sec) + usage.ru_stime.tv_sec) * 1000000LL +
      usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  while (busy.test_and_set(std::memory_order_acquire)) {
  }
  char line[200];
  const int n = std::snprintf(line, sizeof line, "STEP %s %d %lld %lld %ld\n", name,
                              static_cast<int>(trace_pid()),
                              static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec,
                              cpu_us * 1000LL, usage.ru_minflt);
  if (const int fd = trace_fd(path); fd >= 0 && n > 0)
    (void)!::write(fd, line, static_cast<std::size_t>(n) < sizeof line ? n : sizeof line - 1);
  busy.clear(std::memory_order_release);
  errno = saved;
}

}  // namespace brood::os

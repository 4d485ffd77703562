// step_trace (step_trace.hpp): one line per call, appended with one write(2).
#include "brood/os/step_trace.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace brood::os {

void step_trace(const char* name) noexcept {
  const char* path = std::getenv("BROOD_STEP_TRACE");
  if (path == nullptr || *path == '\0') return;
  const int saved = errno;
  timespec ts{}, cpu{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  char line[200];
  const int n = std::snprintf(
      line, sizeof line, "STEP %s %d %lld %lld %ld\n", name, static_cast<int>(::getpid()),
      static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec,
      static_cast<long long>(cpu.tv_sec) * 1000000000LL + cpu.tv_nsec, usage.ru_minflt);
  const int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (n > 0)
      (void)!::write(fd, line, static_cast<std::size_t>(n) < sizeof line ? n : sizeof line - 1);
    ::close(fd);
  }
  errno = saved;
}

}  // namespace brood::os

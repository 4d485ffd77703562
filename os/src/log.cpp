// Process log: "[brood <role> <pid>] text\n", one write(2) per line.
#include "brood/os/log.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>

namespace brood::os {
namespace {

std::mutex the_role_mutex;  // constant-initialized: usable before any other static

// A process whose other threads log (the legion threads of a node master) forks workers: the
// mutex is held across fork so that no child starts with it locked by a thread it lacks.
[[maybe_unused]] const int fork_guard =
    ::pthread_atfork([] { the_role_mutex.lock(); }, [] { the_role_mutex.unlock(); },
                     [] { the_role_mutex.unlock(); });

std::mutex& role_mutex() { return the_role_mutex; }

std::string& role_storage() {
  static std::string role = "main";
  return role;
}

// Writes all of `line` to stderr. One write(2) unless the kernel takes it in parts.
void write_all(std::string_view line) {
  while (!line.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: drop the line
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void set_log_role(std::string role) {
  std::lock_guard lock(role_mutex());
  role_storage() = std::move(role);
}

void log_raw(std::string_view text) {
  if (!text.empty() && text.back() == '\n') {
    write_all(text);
    return;
  }
  std::string line;
  line.reserve(text.size() + 1);
  line += text;
  line += '\n';
  write_all(line);
}

void log_line(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 48);
  line += "[brood ";
  {
    std::lock_guard lock(role_mutex());
    line += role_storage();
  }
  line += ' ';
  line += std::to_string(::getpid());  // read each time: the pid changes after fork
  line += "] ";
  line += text;
  if (line.back() != '\n') line += '\n';
  write_all(line);
}

}  // namespace brood::os

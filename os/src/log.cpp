// Process log: "[brood <role> <pid>] text\n", one write(2) per line.
#include "brood/os/log.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <string>

namespace brood::os {
namespace {

std::mutex the_role_mutex;  // constant-initialized: usable before any other static
// This process's pid, 0 until the first line. Read again in every child of fork(2) (the
// atfork handler below; brood makes no process by another way than fork), instead of one
// getpid(2) per line (a spooler logs two lines per task).
std::atomic<pid_t> the_pid{0};

// A process whose other threads log (the legion threads of a node master) forks workers: the
// mutex is held across fork so that no child starts with it locked by a thread it lacks.
[[maybe_unused]] const int fork_guard =
    ::pthread_atfork([] { the_role_mutex.lock(); }, [] { the_role_mutex.unlock(); },
                     [] {
                       the_pid.store(::getpid(), std::memory_order_relaxed);
                       the_role_mutex.unlock();
                     });

pid_t logging_pid() {
  pid_t pid = the_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = ::getpid();
    the_pid.store(pid, std::memory_order_relaxed);
  }
  return pid;
}

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
  line += std::to_string(logging_pid());
  line += "] ";
  line += text;
  if (line.back() != '\n') line += '\n';
  write_all(line);
}

}  // namespace brood::os

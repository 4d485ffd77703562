#include "node_process.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "brood/client/client.hpp"

namespace brood::testing {

node_process::node_process(std::string binary, std::vector<std::string> args, int cpu) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> argv_store{binary};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test or benchmark that started it
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      ::sched_setaffinity(0, sizeof set, &set);
    }
    ::dup2(fds[1], STDOUT_FILENO);  // stdout and stderr both captured, line by line
    ::dup2(fds[1], STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
  ::close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] { read_loop(fd); });
}

node_process::~node_process() {
  if (!reaped_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  } else {
    ::kill(-pid_, SIGKILL);  // workers left behind by a crashed master
  }
  if (reader_.joinable()) reader_.join();
}

void node_process::read_loop(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<std::size_t>(n));
    std::size_t pos;
    std::lock_guard lock(mutex_);
    while ((pos = partial.find('\n')) != std::string::npos) {
      lines_.push_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
    }
    changed_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
  changed_.notify_all();
}

std::optional<std::smatch> node_process::wait_for_line(const std::regex& re,
                                                       std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::size_t seen = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; seen < lines_.size(); ++seen) {
      std::smatch m;
      if (std::regex_search(lines_[seen], m, re)) return m;
    }
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

std::size_t node_process::count_lines(const std::regex& re) {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (auto& l : lines_) n += std::regex_search(l, re) ? 1 : 0;
  return n;
}

std::string node_process::all_output() {
  std::lock_guard lock(mutex_);
  std::string out;
  for (auto& l : lines_) out += l + "\n";
  return out;
}

std::string node_process::wait_bound_address(int socket_index, std::chrono::milliseconds timeout) {
  std::regex re("uwsgi socket " + std::to_string(socket_index) +
                " bound to TCP address (\\S+):(\\d+)");
  auto m = wait_for_line(re, timeout);
  if (!m) return {};
  return (*m)[1].str() + ":" + (*m)[2].str();
}

bool node_process::wait_ready(std::chrono::milliseconds timeout) {
  return wait_for_line(std::regex("node ready"), timeout).has_value();
}

std::vector<pid_t> node_process::worker_pids() {
  std::regex re(
      "(?:spawned uWSGI worker \\d+ \\(pid|Respawned uWSGI worker \\d+ \\(new pid): (\\d+)");
  std::lock_guard lock(mutex_);
  std::vector<pid_t> pids;
  for (auto& l : lines_) {
    std::smatch m;
    if (std::regex_search(l, m, re)) pids.push_back(std::stoi(m[1].str()));
  }
  return pids;
}

void node_process::signal(int sig) { ::kill(pid_, sig); }

std::optional<int> node_process::wait_exit(std::chrono::milliseconds timeout) {
  if (reaped_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = st;
      return st;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

bool echo_ok(const std::string& address, std::chrono::milliseconds timeout) {
  auto r = client::send_message(address, 33, 0, wire::value("ping?"), timeout);
  return r && *r == wire::value("ping?");
}

}  // namespace brood::testing

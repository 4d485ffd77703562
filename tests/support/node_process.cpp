#include "node_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "brood/client/client.hpp"
#include "eventually.hpp"

namespace brood::testing {

node_process::node_process(std::string binary, std::vector<std::string> args, int cpu) {
  exec(std::move(binary), std::move(args), cpu);
}

node_process::~node_process() { kill_all(); }

namespace {

// In the child: its own process group, killed with the thread that forked it, stderr (and
// stdout if `with_stdout`) to `fd`. A forked body keeps its stdout: the stdio buffer it inherits
// holds the test's own output.
void enter_child(int fd, int read_end, bool with_stdout) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (with_stdout) ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  ::close(read_end);
}

}  // namespace

void node_process::start(const std::function<int()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  pid_ = ::fork();
  if (pid_ == 0) {
    enter_child(fds[1], fds[0], false);
    ::_exit(body());
  }
  ::close(fds[1]);
  if (pid_ < 0) {
    ::close(fds[0]);
    throw std::runtime_error("fork failed");
  }
  start_reader(fds[0]);
}

void node_process::exec(std::string binary, std::vector<std::string> args, int cpu) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> argv_store{binary};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    enter_child(fds[1], fds[0], true);
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      ::sched_setaffinity(0, sizeof set, &set);
    }
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  if (pid_ < 0) {
    ::close(fds[0]);
    throw std::runtime_error("fork failed");
  }
  start_reader(fds[0]);
}

void node_process::start_reader(int fd) {
  ::setpgid(pid_, pid_);  // as the child does: whichever runs first
  group_ = pid_;
  reader_ = std::thread([this, fd] { read_loop(fd); });
}

void node_process::read_loop(int fd) {
  static const bool verbose = std::getenv("BROOD_TEST_VERBOSE") != nullptr;
  std::string partial;
  char buf[4096];
  while (!stop_) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 50);  // bounded, so that kill_all() can stop the reader
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<std::size_t>(n));
    std::lock_guard lock(mutex_);
    for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
      lines_.push_back(partial.substr(0, nl));
      if (verbose) std::cerr << "  | " << lines_.back() << "\n";
      partial.erase(0, nl + 1);
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
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; seen < lines_.size(); ++seen) {
      std::smatch m;
      if (std::regex_search(lines_[seen], m, re)) return m;
    }
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

bool node_process::wait_for(const std::string& text, int count, std::chrono::milliseconds timeout) {
  auto matches = [&] {
    int n = 0;
    for (const auto& l : lines_) n += l.find(text) != std::string::npos;
    return n;
  };
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return eof_ || matches() >= count; });
  return matches() >= count;
}

bool node_process::wait_eof(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return eof_; });
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

std::uint16_t node_process::tcp_port(std::chrono::milliseconds timeout) {
  const std::string address = wait_bound_address(0, timeout);
  if (address.empty()) return 0;
  return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
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

void node_process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> node_process::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  eventually(
      [&] {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
        status_ = st;
        return true;
      },
      timeout);
  if (status_) pid_ = -1;
  return status_;
}

void node_process::kill_all() {
  if (group_ > 0) {
    ::kill(-group_, SIGKILL);  // the child and its workers, whatever is left
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    // Orphans of the group adopted by this (subreaper) process: reaped until none is left.
    eventually([&] { return ::waitpid(-group_, nullptr, WNOHANG) < 0; }, 3s);
    group_ = -1;
  }
  if (reader_.joinable()) {
    wait_eof(500ms);  // the last lines, unless another process still holds the pipe
    stop_ = true;
    reader_.join();
  }
}

bool echo_ok(const std::string& address, std::chrono::milliseconds timeout) {
  auto r = client::send_message(address, 33, 0, wire::value("ping?"), timeout);
  return r && *r == wire::value("ping?");
}

void reap_all_children(std::chrono::milliseconds timeout) {
  eventually([] { return ::waitpid(-1, nullptr, WNOHANG) < 0; }, timeout, 10ms);
}

}  // namespace brood::testing

#pragma once
// Test harness: a real `brood` (or primes_node) process started with arguments, its stderr
// captured line by line. The process gets its own process group; the destructor SIGKILLs the
// group and reaps the child, so no test leaves a process behind.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace brood::testing {

using namespace std::chrono_literals;

class node_process {
 public:
  // Starts `binary` with `args` (argv[0] excluded), pinned to CPU `cpu` when cpu >= 0 (its
  // children inherit the pinning). Throws std::runtime_error if fork fails.
  node_process(std::string binary, std::vector<std::string> args, int cpu = -1);
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  pid_t pid() const noexcept { return pid_; }

  // Waits until a stderr line matches `re`; returns its match (nullopt on timeout or exit).
  std::optional<std::smatch> wait_for_line(const std::regex& re,
                                           std::chrono::milliseconds timeout = 10s);
  // Counts the stderr lines so far that match `re`.
  std::size_t count_lines(const std::regex& re);
  std::string all_output();

  // Waits for the "uwsgi socket N bound to TCP address HOST:PORT" line; returns "HOST:PORT".
  std::string wait_bound_address(int socket_index = 0, std::chrono::milliseconds timeout = 10s);
  // Waits for "node ready".
  bool wait_ready(std::chrono::milliseconds timeout = 10s);
  // Worker pids seen so far in "spawned uWSGI worker N (pid: P" and
  // "Respawned uWSGI worker N (new pid: P" lines, in order.
  std::vector<pid_t> worker_pids();

  void signal(int sig);
  // Waits for the process to exit; returns its wait status, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);

 private:
  void read_loop(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::thread reader_;
};

// A message round trip with a small timeout; true if `address` answers the echo (m2 0) call.
bool echo_ok(const std::string& address, std::chrono::milliseconds timeout = 2s);

}  // namespace brood::testing

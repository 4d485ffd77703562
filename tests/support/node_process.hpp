#pragma once
// node_process: the one test harness for a child process. Either an exec'd binary (`brood`,
// primes_node, uWSGI) or a body run in a forked child (run_node, run_worker, run_spooler). The
// child gets its own process group and dies with the thread that started it (PDEATHSIG); its
// stderr (and an exec'd binary's stdout) is collected line by line. kill_all() (and the destructor)
// SIGKILLs the group, reaps the child and, when the test process is a child subreaper
// (PR_SET_CHILD_SUBREAPER), the orphans of that group too, so no test leaves a process behind.
// Set BROOD_TEST_VERBOSE=1 to echo the collected lines to the test's stderr.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
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
  // Not started: call start() or exec().
  node_process() = default;
  // exec(binary, args, cpu).
  node_process(std::string binary, std::vector<std::string> args, int cpu = -1);
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  // Runs `body` in a forked child, which _exit()s with its result. REQUIRES: not started yet;
  // no other thread of the test process holds a lock the body needs (fork copies one thread).
  void start(const std::function<int()>& body);
  // Starts `binary` with `args` (argv[0] excluded), pinned to CPU `cpu` when cpu >= 0 (its
  // children inherit the pinning). REQUIRES: not started yet. Throws std::runtime_error if the
  // pipe or the fork fails.
  void exec(std::string binary, std::vector<std::string> args, int cpu = -1);

  // The child's pid (-1 before a start and once reaped).
  pid_t pid() const noexcept { return pid_; }

  // Waits until a line matches `re`; returns its match (nullopt on timeout or end of output).
  std::optional<std::smatch> wait_for_line(const std::regex& re,
                                           std::chrono::milliseconds timeout = 10s);
  // True once `count` lines containing `text` were collected; false on timeout or end of output.
  bool wait_for(const std::string& text, int count = 1, std::chrono::milliseconds timeout = 10s);
  // Waits until the child's output ends (it and every process sharing its pipe exited).
  bool wait_eof(std::chrono::milliseconds timeout = 10s);
  // The lines so far that match `re`, counted.
  std::size_t count_lines(const std::regex& re);
  // Every line so far, each ending in '\n'.
  std::string all_output();

  // Waits for the "uwsgi socket N bound to TCP address HOST:PORT" line; returns "HOST:PORT"
  // ("" on timeout).
  std::string wait_bound_address(int socket_index = 0, std::chrono::milliseconds timeout = 10s);
  // The port of wait_bound_address(0) (0 on timeout).
  std::uint16_t tcp_port(std::chrono::milliseconds timeout = 10s);
  // Waits for "node ready".
  bool wait_ready(std::chrono::milliseconds timeout = 10s);
  // Worker pids seen so far in "spawned uWSGI worker N (pid: P" and
  // "Respawned uWSGI worker N (new pid: P" lines, in order.
  std::vector<pid_t> worker_pids();

  void signal(int sig);
  // Waits for the child to exit and reaps it; its wait status, nullopt on timeout (or if it was
  // never started).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);
  // SIGKILLs the child's process group, reaps the child and the orphans of its group, stops
  // collecting. Idempotent.
  void kill_all();

 private:
  void start_reader(int fd);
  void read_loop(int fd);

  pid_t pid_ = -1;
  pid_t group_ = -1;
  std::optional<int> status_;  // once reaped
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

// A message round trip with a small timeout; true if `address` answers the echo (m2 0) call.
bool echo_ok(const std::string& address, std::chrono::milliseconds timeout = 2s);

// Reaps every child of the test process (orphans adopted as a child subreaper included) until
// none is left or `timeout` passes. For tests whose grandchildren leave their process group
// (vassals of an emperor).
void reap_all_children(std::chrono::milliseconds timeout = 5s);

}  // namespace brood::testing

#pragma once
// Shared pieces of the benchmarks: latency statistics, CPU pinning, and the raw loopback echo
// servers that serve as references (measured in the same run as brood).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace brood::bench {

struct stats {
  double p50_us = 0, p99_us = 0, mean_us = 0;
  std::size_t n = 0;
};
stats summarize(std::vector<double> samples_us);
std::string format(const stats& s);

// Pins the calling thread/process to `cpu` (-1: leave it free).
void pin_to_cpu(int cpu);

using clock = std::chrono::steady_clock;
inline double micros_since(clock::time_point t) {
  return std::chrono::duration<double, std::micro>(clock::now() - t).count();
}

// A forked echo server on 127.0.0.1:<ephemeral>. `processes` processes share the listening
// socket. blocking: each process serves one connection at a time with blocking read/write of
// `message_size` bytes (the leanest ping-pong). Otherwise each process multiplexes its
// connections with epoll. The destructor kills and reaps the processes.
class raw_echo_server {
 public:
  raw_echo_server(std::size_t message_size, int cpu, int processes = 1, bool blocking = true);
  ~raw_echo_server();
  raw_echo_server(const raw_echo_server&) = delete;
  raw_echo_server& operator=(const raw_echo_server&) = delete;
  const std::string& address() const { return address_; }

 private:
  std::vector<pid_t> pids_;
  std::string address_;
};

// A blocking client connection for the raw reference: connect to "127.0.0.1:port".
class raw_client {
 public:
  explicit raw_client(const std::string& address);
  ~raw_client();
  // Writes `out` and reads exactly out.size() bytes back. False on error.
  bool round_trip(const std::vector<std::uint8_t>& out, std::vector<std::uint8_t>& in);

 private:
  int fd_ = -1;
};

// Prints one machine-readable line: "BENCH name key=value ..." and echoes it to stdout.
void report(const std::string& name, const std::vector<std::pair<std::string, std::string>>& kv);
std::string fixed(double v, int decimals = 1);

}  // namespace brood::bench

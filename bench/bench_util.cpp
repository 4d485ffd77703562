#include "bench_util.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "brood/os/socket_address.hpp"

namespace brood::bench {

stats summarize(std::vector<double> s) {
  stats r;
  r.n = s.size();
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  r.p50_us = s[s.size() / 2];
  r.p99_us = s[std::min(s.size() - 1, s.size() * 99 / 100)];
  r.mean_us = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(s.size());
  return r;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string format(const stats& s) {
  return "p50=" + fixed(s.p50_us) + "us p99=" + fixed(s.p99_us) + "us n=" + std::to_string(s.n);
}

void pin_to_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

namespace {

bool read_full(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_full(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A thread per connection, each a blocking read/write loop: the leanest ping-pong, and kept-alive
// connections do not block new ones.
[[noreturn]] void serve_blocking(int listen_fd, std::size_t size) {
  for (;;) {
    int c = ::accept(listen_fd, nullptr, nullptr);
    if (c < 0) continue;
    set_nodelay(c);
    std::thread([c, size] {
      std::vector<std::uint8_t> buf(size);
      while (read_full(c, buf.data(), size) && write_full(c, buf.data(), size)) {
      }
      ::close(c);
    }).detach();
  }
}

// Echoes whatever arrives on every connection (epoll, level-triggered, non-blocking accept).
[[noreturn]] void serve_epoll(int listen_fd) {
  int ep = ::epoll_create1(0);
  epoll_event ev{EPOLLIN, {.fd = listen_fd}};
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::vector<epoll_event> events(64);
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK);
        if (c < 0) continue;
        set_nodelay(c);
        epoll_event cev{EPOLLIN, {.fd = c}};
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      ssize_t r = ::read(fd, buf.data(), buf.size());
      if (r <= 0 || !write_full(fd, buf.data(), static_cast<std::size_t>(r))) ::close(fd);
    }
  }
}

}  // namespace

raw_echo_server::raw_echo_server(std::size_t size, int cpu, int processes, bool blocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 1024) != 0)
    throw std::runtime_error("raw_echo_server: bind/listen failed");
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  address_ = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  if (!blocking) ::fcntl(fd, F_SETFL, O_NONBLOCK);
  for (int i = 0; i < processes; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      pin_to_cpu(cpu);
      if (blocking) serve_blocking(fd, size);
      serve_epoll(fd);
    }
    pids_.push_back(pid);
  }
  ::close(fd);
}

raw_echo_server::~raw_echo_server() {
  for (pid_t p : pids_) ::kill(p, SIGKILL);
  for (pid_t p : pids_) ::waitpid(p, nullptr, 0);
}

raw_client::raw_client(const std::string& address) {
  auto parsed = brood::os::parse_address(address);
  auto sa = parsed ? brood::os::resolve_address(*parsed, brood::os::resolve_for::connect)
                   : brood::os::result<brood::os::socket_address>(parsed.error());
  if (!sa) throw std::runtime_error("raw_client: " + sa.error().message());
  fd_ = ::socket(sa->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd_, sa->get(), sa->size) != 0)
    throw std::runtime_error("raw_client: connect to " + address + " failed");
  if (sa->family() != AF_UNIX) set_nodelay(fd_);
}

raw_client::~raw_client() { ::close(fd_); }

bool raw_client::round_trip(const std::vector<std::uint8_t>& out, std::vector<std::uint8_t>& in) {
  in.resize(out.size());
  return write_full(fd_, out.data(), out.size()) && read_full(fd_, in.data(), in.size());
}

void report(const std::string& name, const std::vector<std::pair<std::string, std::string>>& kv) {
  std::ostringstream s;
  s << "BENCH " << name;
  for (auto& [k, v] : kv) s << ' ' << k << '=' << v;
  std::printf("%s\n", s.str().c_str());
  std::fflush(stdout);
}

}  // namespace brood::bench

#pragma once
// fake_node: a blocking loopback uwsgi server for the router tests. Each connection: the header,
// the vars, CONTENT_LENGTH body bytes; the answer "NAME m1=X m2=Y host=H body=N\n" followed by
// the body, then close. Modes: answer, hold (answer once release() is called), die (close at
// once without reading). Connections are served on their own threads, joined by the destructor.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "brood/wire/header.hpp"
#include "brood/wire/vars.hpp"

namespace brood::testing {

class fake_node {
 public:
  enum class mode { answer, hold, die };
  explicit fake_node(std::string name, mode m = mode::answer) : name_(std::move(name)), mode_(m) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 128);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~fake_node() {
    stop_ = true;
    release();
    acceptor_.join();
    for (auto& t : workers_) t.join();
    ::close(fd_);
  }
  const std::string& address() const { return address_; }
  int requests() const { return requests_; }  // requests read (held ones included)
  void release() {
    std::lock_guard lock(m_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      if (mode_ == mode::die) {
        ::close(c);
        continue;
      }
      workers_.emplace_back([this, c] { serve(c); });
    }
  }
  static bool read_n(int fd, std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t r = ::read(fd, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  static void write_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t w = ::write(fd, s.data() + off, s.size() - off);
      if (w <= 0) return;
      off += static_cast<std::size_t>(w);
    }
  }
  void serve(int c) {
    std::uint8_t h[4];
    if (!read_n(c, h, 4)) return (void)::close(c);
    const wire::header head = wire::decode_header(wire::bytes_view(h, 4));
    std::vector<std::uint8_t> block(head.size);
    std::vector<wire::var> vars;
    if (!read_n(c, block.data(), block.size())) return (void)::close(c);
    (void)wire::decode_vars(block, wire::limits{65535, 1024}, vars);
    const wire::var_lookup cl = wire::find_var(vars, "CONTENT_LENGTH");
    const std::size_t body_len = cl.found ? std::stoul(std::string(cl.value)) : 0;
    std::string body(body_len, '\0');
    if (!read_n(c, reinterpret_cast<std::uint8_t*>(body.data()), body_len)) return (void)::close(c);
    ++requests_;
    if (mode_ == mode::hold) {
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] { return released_; });
    }
    const wire::var_lookup host = wire::find_var(vars, "HTTP_HOST");
    write_all(c, name_ + " m1=" + std::to_string(head.modifier1) +
                     " m2=" + std::to_string(head.modifier2) + " host=" + std::string(host.value) +
                     " body=" + std::to_string(body_len) + "\n" + body);
    ::close(c);
  }

  std::string name_;
  mode mode_;
  int fd_ = -1;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_;
  bool released_ = false;
};

}  // namespace brood::testing

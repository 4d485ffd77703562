#pragma once
// A small uwsgi-packet server for client tests: one thread, raw blocking-free sockets and poll(),
// on 127.0.0.1:0 or a unix socket. A handler decides each reply; the server counts accepted
// connections and can drop its open connections on demand. (The clients of the other tests are
// tests/support's raw_socket; a refused address is its dead_address().)
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <vector>

#include "brood/os/unique_fd.hpp"
#include "brood/wire/bytes.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/modifier.hpp"
#include "eventually.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::testing {

// What the server does with one request.
struct action {
  enum class kind { reply, stall, close };
  kind what = kind::reply;
  wire::bytes bytes;  // kind::reply: written as is

  static action reply(wire::bytes b) { return {kind::reply, std::move(b)}; }
  static action stall() { return {kind::stall, {}}; }
  static action close() { return {kind::close, {}}; }
};

// A framed packet [m1, size, m2] + payload.
inline wire::bytes packet_bytes(std::uint8_t m1, std::uint8_t m2, wire::bytes_view payload) {
  wire::bytes out(wire::header_size + payload.size());
  out[0] = m1;
  out[1] = static_cast<wire::byte>(payload.size() & 0xff);
  out[2] = static_cast<wire::byte>(payload.size() >> 8);
  out[3] = m2;
  std::copy(payload.begin(), payload.end(), out.begin() + wire::header_size);
  return out;
}

class test_server {
 public:
  // (header, payload, index of this request on its connection) -> action.
  using handler = std::function<action(const wire::header&, wire::bytes_view, int)>;

  // TCP on 127.0.0.1 with an ephemeral port when unix_path is empty. one_shot: close each
  // connection after its first reply (like uWSGI without keep-alive).
  explicit test_server(handler h, std::string unix_path = {}, bool one_shot = false)
      : handler_(std::move(h)), one_shot_(one_shot) {
    unix_path.empty() ? listen_tcp() : listen_unix(unix_path);
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    thread_ = std::thread([this] { run(); });
  }
  ~test_server() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake();
    thread_.join();
  }

  const std::string& address() const { return address_; }
  int accepted() const { return accepted_.load(); }

  // Closes every open connection, as a server closing idle keep-alive connections; returns once
  // they are closed.
  void drop_connections() {
    std::unique_lock lock(mu_);
    drop_ = true;
    wake();
    cv_.wait(lock, [this] { return !drop_; });
  }

 private:
  struct conn {
    os::unique_fd fd;
    wire::bytes buf;
    int served = 0;
    bool stalled = false;
  };

  void listen_tcp() {
    listen_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listen_.get(), 64) != 0 ||
        ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("test_server: cannot listen on 127.0.0.1");
    }
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }

  void listen_unix(const std::string& path) {
    listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listen_.get(), 64) != 0) {
      throw std::runtime_error("test_server: cannot listen on " + path);
    }
    address_ = path;
  }

  void wake() {
    std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
  }

  // Handles the wake-up: true when the server must stop.
  bool on_wake() {
    std::uint64_t n = 0;
    (void)!::read(wake_.get(), &n, sizeof(n));
    std::lock_guard lock(mu_);
    if (drop_) {
      conns_.clear();
      drop_ = false;
      cv_.notify_all();
    }
    return stop_;
  }

  // Serves the complete requests buffered on `c`; false when the connection must close.
  bool serve(conn& c) {
    while (!c.stalled && c.buf.size() >= wire::header_size) {
      wire::header h = wire::decode_header(c.buf);
      std::size_t total = wire::header_size + h.size;
      if (c.buf.size() < total) return true;
      action a =
          handler_(h, wire::bytes_view(c.buf).subspan(wire::header_size, h.size), c.served++);
      c.buf.erase(c.buf.begin(), c.buf.begin() + static_cast<std::ptrdiff_t>(total));
      if (a.what == action::kind::close) return false;
      if (a.what == action::kind::stall) {
        c.stalled = true;
        return true;
      }
      std::size_t off = 0;
      while (off < a.bytes.size()) {
        ssize_t n = ::send(c.fd.get(), a.bytes.data() + off, a.bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
      }
      if (one_shot_) return false;
    }
    return true;
  }

  // Reads what `c` sent; false when the connection is over.
  bool on_readable(conn& c) {
    wire::byte tmp[65536];
    ssize_t n = ::recv(c.fd.get(), tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    if (c.stalled) return true;
    c.buf.insert(c.buf.end(), tmp, tmp + n);
    return serve(c);
  }

  void run() {
    std::vector<pollfd> pfds;
    for (;;) {
      pfds.clear();
      pfds.push_back({wake_.get(), POLLIN, 0});
      pfds.push_back({listen_.get(), POLLIN, 0});
      for (auto& c : conns_) pfds.push_back({c->fd.get(), POLLIN, 0});
      if (::poll(pfds.data(), pfds.size(), -1) < 0) continue;
      if (pfds[0].revents & POLLIN) {
        if (on_wake()) return;
        continue;  // connections may have been dropped: poll again
      }
      std::vector<conn*> gone;
      for (std::size_t i = 2; i < pfds.size(); ++i) {
        conn& c = *conns_[i - 2];
        if (pfds[i].revents != 0 && !on_readable(c)) gone.push_back(&c);
      }
      std::erase_if(conns_, [&](const auto& c) {
        return std::find(gone.begin(), gone.end(), c.get()) != gone.end();
      });
      if (pfds[1].revents & POLLIN) accept_one();
    }
  }

  void accept_one() {
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<conn>();
    c->fd.reset(fd);
    conns_.push_back(std::move(c));
    accepted_.fetch_add(1);
  }

  handler handler_;
  bool one_shot_;
  std::string address_;
  os::unique_fd listen_;
  os::unique_fd wake_;
  std::vector<std::unique_ptr<conn>> conns_;  // touched by the server thread (and drop under mu_)
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool drop_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// Handlers and helpers the client tests share.
using clock_type = std::chrono::steady_clock;
inline constexpr std::uint8_t marshal = wire::to_byte(wire::modifier1::message_marshal);

inline action echo(const wire::header& h, wire::bytes_view p, int) {
  return action::reply(packet_bytes(h.modifier1, h.modifier2, p));
}
inline action stall(const wire::header&, wire::bytes_view, int) { return action::stall(); }

inline long long ms_since(clock_type::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
}

// The names a client test (in namespace brood::client) takes from here, with one
// `using namespace testing::client_tests;`.
namespace client_tests {
using namespace std::chrono_literals;
using brood::testing::action;
using brood::testing::clock_type;
using brood::testing::echo;
using brood::testing::marshal;
using brood::testing::ms_since;
using brood::testing::packet_bytes;
using brood::testing::stall;
using brood::testing::test_server;
}  // namespace client_tests

}  // namespace brood::testing

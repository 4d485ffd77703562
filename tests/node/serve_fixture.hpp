#pragma once
// In-process serving tests: a worker on its own thread and io_context, listening on a socket
// the test binds (127.0.0.1:0 or a unix path in a temp dir), and blocking raw clients.
// Header-only: every tests/node/*_test.cpp is its own executable.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "brood/node/config.hpp"
#include "brood/node/router.hpp"
#include "brood/node/worker.hpp"
#include "brood/os/asio.hpp"
#include "brood/wire/bytes.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/message.hpp"
#include "brood/wire/msgpack_codec.hpp"
#include "brood/wire/value.hpp"

namespace brood::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// Where a listening socket is: a TCP port on 127.0.0.1, or a unix path.
struct endpoint {
  std::uint16_t port = 0;
  std::string path;
};

// Binds 127.0.0.1:0 and listens (non-blocking, close-on-exec); -1 on error.
inline int listen_tcp_loopback(endpoint& where) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof in;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&in), len) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  where.port = ntohs(in.sin_port);
  return fd;
}

inline int listen_unix(const std::string& path, endpoint& where) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 ||
      ::listen(fd, 64) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  where.path = path;
  return fd;
}

struct packet {
  wire::header head;
  wire::bytes payload;
};

// A blocking client socket with bounded waits.
class raw_client {
 public:
  explicit raw_client(const endpoint& where) {
    if (where.path.empty()) {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in in{};
      in.sin_family = AF_INET;
      in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      in.sin_port = htons(where.port);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) close();
      const int one = 1;
      if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un un{};
      un.sun_family = AF_UNIX;
      std::strncpy(un.sun_path, where.path.c_str(), sizeof un.sun_path - 1);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0) close();
    }
  }
  ~raw_client() { close(); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  bool connected() const noexcept { return fd_ >= 0; }

  bool send(wire::bytes_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data = data.subspan(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Exactly n bytes within `timeout`; nullopt on EOF, error or timeout.
  std::optional<wire::bytes> read_exact(std::size_t n, milliseconds timeout = 2s) {
    const auto end = steady::now() + timeout;
    wire::bytes out(n);
    std::size_t got = 0;
    while (got < n) {
      if (!wait_readable(end)) return std::nullopt;
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) return std::nullopt;
      got += static_cast<std::size_t>(r);
    }
    return out;
  }

  std::optional<packet> read_packet(milliseconds timeout = 2s) {
    const auto end = steady::now() + timeout;
    auto head = read_exact(wire::header_size, timeout);
    if (!head) return std::nullopt;
    packet p{wire::decode_header(*head), {}};
    auto left = std::chrono::duration_cast<milliseconds>(end - steady::now());
    auto payload = read_exact(p.head.size, std::max(left, milliseconds(1)));
    if (!payload) return std::nullopt;
    p.payload = std::move(*payload);
    return p;
  }

  // True when the peer closes (EOF or reset) within `timeout` with no byte arriving first.
  bool closed_by_peer(milliseconds timeout = 2s) {
    if (!wait_readable(steady::now() + timeout)) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) <= 0;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool wait_readable(steady::time_point end) {
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(end - steady::now()).count();
      if (left < 0 || fd_ < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r > 0) return true;
      if (r == 0) return false;
    }
  }

  int fd_ = -1;
};

// [33, size, m2] + msgpack(v)
inline wire::bytes message_packet(std::uint8_t m2, const wire::value& v) {
  wire::bytes out;
  EXPECT_FALSE(wire::append_value_packet(out, 33, m2, v));
  return out;
}

// The msgpack body of a reply, decoded; nullopt if it is not valid msgpack.
inline std::optional<wire::value> reply_value(const packet& p) {
  wire::value v;
  if (!wire::decode_msgpack(p.payload, wire::limits{}, v).is_done()) return std::nullopt;
  return v;
}

class serve_fixture : public ::testing::Test {
 protected:
  serve_fixture() {
    cfg_.socket_timeout = 1s;
    cfg_.keepalive_timeout = 5s;
    char dir[] = "/tmp/brood-worker-test-XXXXXX";
    if (::mkdtemp(dir)) temp_dir_ = dir;
  }

  ~serve_fixture() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] { worker_->stop_now(); });
      if (ended_.wait_for(3s) != std::future_status::ready) io_.stop();
      thread_.join();
    }
    worker_.reset();
    if (!temp_dir_.empty()) std::filesystem::remove_all(temp_dir_);
  }

  // Starts a worker on a new loopback TCP (or unix) listener. REQUIRES: called once per test.
  endpoint start_tcp() {
    endpoint where;
    const int fd = listen_tcp_loopback(where);
    EXPECT_GE(fd, 0);
    return start(fd, where);
  }
  endpoint start_unix() {
    endpoint where;
    const int fd = listen_unix(temp_dir_ + "/node.sock", where);
    EXPECT_GE(fd, 0);
    return start(fd, where);
  }

  // Runs fn on the worker's thread and waits (up to 2 s) for it. False if it did not run.
  bool on_worker_thread(std::function<void()> fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto ran = done->get_future();
    asio::post(io_, [fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    return ran.wait_for(2s) == std::future_status::ready;
  }

  // Polls `pred` on the worker's thread until it holds or `timeout` passes.
  bool eventually(const std::function<bool()>& pred, milliseconds timeout = 2s) {
    const auto end = steady::now() + timeout;
    for (;;) {
      bool ok = false;
      if (!on_worker_thread([&] { ok = pred(); })) return false;
      if (ok) return true;
      if (steady::now() > end) return false;
      std::this_thread::sleep_for(5ms);
    }
  }

  // True when the worker's io_context ran out of work within `timeout`.
  bool wait_run_end(milliseconds timeout) {
    return ended_.wait_for(timeout) == std::future_status::ready;
  }

  node::router router_;
  node::node_config cfg_;
  asio::io_context io_;
  std::unique_ptr<node::worker> worker_;
  std::string temp_dir_;

 private:
  endpoint start(int fd, endpoint where) {
    worker_ = std::make_unique<node::worker>(io_, router_, cfg_, std::vector<int>{fd});
    worker_->start();
    std::packaged_task<void()> run([this] { io_.run(); });
    ended_ = run.get_future();
    thread_ = std::thread(std::move(run));
    return where;
  }

  std::thread thread_;
  std::future<void> ended_;
};

}  // namespace brood::test

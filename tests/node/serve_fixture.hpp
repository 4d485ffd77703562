#pragma once
// In-process serving tests: a worker on its own thread and io_context, listening on a socket
// the test binds (127.0.0.1:0 or a unix path in a temp dir); the tests talk to it with
// testing::raw_socket.
// Header-only: every tests/node/*_test.cpp is its own executable.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
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
#include "eventually.hpp"
#include "http_sockets.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;
using testing::message_packet;
using testing::packet;
using testing::raw_socket;
using testing::reply_value;

// Binds 127.0.0.1:0 and listens (non-blocking, close-on-exec); -1 on error. `address` gets
// "127.0.0.1:PORT".
inline int listen_tcp_loopback(std::string& address) {
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
  address = "127.0.0.1:" + std::to_string(ntohs(in.sin_port));
  return fd;
}

// Binds the unix socket `path` and listens; -1 on error.
inline int listen_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 ||
      ::listen(fd, 64) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

class serve_fixture : public ::testing::Test {
 protected:
  serve_fixture() {
    cfg_.socket_timeout = 1s;
    cfg_.keepalive_timeout = 5s;
  }

  ~serve_fixture() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] { worker_->stop_now(); });
      if (ended_.wait_for(3s) != std::future_status::ready) io_.stop();
      thread_.join();
    }
    worker_.reset();
    if (http_fd_ >= 0) node::detail::unmark_http_socket(http_fd_);
  }

  // Starts a worker on a new loopback TCP (or unix) listener; returns its address for a
  // raw_socket. REQUIRES: called once per test.
  std::string start_tcp() {
    std::string where;
    const int fd = listen_tcp_loopback(where);
    EXPECT_GE(fd, 0);
    return start(fd, where);
  }
  // The same on an HTTP socket (http_sockets.hpp); the mark is removed when the test ends.
  std::string start_http_tcp() {
    std::string where;
    http_fd_ = listen_tcp_loopback(where);
    EXPECT_GE(http_fd_, 0);
    node::detail::mark_http_socket(http_fd_);
    return start(http_fd_, where);
  }
  std::string start_unix() {
    const std::string where = dir_ / "node.sock";
    const int fd = listen_unix(where);
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

  // testing::eventually() with `pred` run on the worker's thread.
  bool eventually(const std::function<bool()>& pred, milliseconds timeout = 2s) {
    return testing::eventually(
        [&] {
          bool ok = false;
          return on_worker_thread([&] { ok = pred(); }) && ok;
        },
        timeout);
  }

  // True when the worker's io_context ran out of work within `timeout`.
  bool wait_run_end(milliseconds timeout) {
    return ended_.wait_for(timeout) == std::future_status::ready;
  }

  node::router router_;
  node::node_config cfg_;
  asio::io_context io_;
  std::unique_ptr<node::worker> worker_;
  testing::temp_dir dir_{"brood-worker-test-"};

 private:
  std::string start(int fd, std::string where) {
    worker_ = std::make_unique<node::worker>(io_, router_, cfg_, std::vector<int>{fd});
    worker_->start();
    std::packaged_task<void()> run([this] { io_.run(); });
    ended_ = run.get_future();
    thread_ = std::thread(std::move(run));
    return where;
  }

  std::thread thread_;
  std::future<void> ended_;
  int http_fd_ = -1;
};

}  // namespace brood::test

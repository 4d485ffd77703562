#pragma once
// A blocking TCP client socket for tests that must send exact (often bad) bytes.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/value.hpp"

namespace brood::testing {

class raw_socket {
 public:
  // Connects to "host:port"; connected() tells whether it worked.
  explicit raw_socket(const std::string& address);
  ~raw_socket();
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  bool connected() const noexcept { return fd_ >= 0; }
  bool send(wire::bytes_view data);
  // Reads exactly n bytes within `timeout`; nullopt on EOF, error or timeout.
  std::optional<wire::bytes> read_exact(std::size_t n, std::chrono::milliseconds timeout);
  // Reads one framed reply packet (header + size bytes).
  struct reply {
    wire::header head;
    wire::bytes payload;
  };
  std::optional<reply> read_packet(std::chrono::milliseconds timeout);
  // Reads until the peer closes (a stats server's document); nullopt on error or timeout.
  std::optional<std::string> read_to_eof(std::chrono::milliseconds timeout);
  // True if the peer closed the connection (EOF or reset) within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  void close();

 private:
  int fd_ = -1;
};

// [33, size, m2] + msgpack(v)
wire::bytes message_packet(std::uint8_t m2, const wire::value& v);
// A round trip on a fresh connection: send `v` with m2 0 (echo), true if the same value returns.
bool fresh_echo(const std::string& address, const wire::value& v,
                std::chrono::milliseconds timeout);
// One uwsgi ping (modifier1 100) on a fresh connection; true if the pong came back in time.
bool ping_ok(const std::string& address,
             std::chrono::milliseconds timeout = std::chrono::seconds(2));
// An unused local TCP port (bound then closed): connecting to it is refused.
std::string dead_address();

// A listening loopback socket nobody accepts on: connects succeed (backlog) and nothing is ever
// answered, as a stalled node.
class stalled_listener {
 public:
  stalled_listener();
  ~stalled_listener();
  stalled_listener(const stalled_listener&) = delete;
  stalled_listener& operator=(const stalled_listener&) = delete;
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace brood::testing

#pragma once
// raw_socket: the one blocking client socket of the tests, for tests that send exact (often bad)
// bytes, over TCP ("HOST:PORT") or a unix socket (a path). Every read is bounded by a timeout.
// Beside it, the few one-call helpers built on it (call, fresh_echo, ping_ok) and the addresses
// tests need (dead_address, stalled_listener).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/value.hpp"

namespace brood::testing {

using namespace std::chrono_literals;

// One framed packet: header and `head.size` payload bytes.
struct packet {
  wire::header head;
  wire::bytes payload;
};

class raw_socket {
 public:
  using reply = packet;

  // Connects to `address`: a unix socket when it contains '/', else "HOST:PORT" (IPv4, an empty
  // HOST is 127.0.0.1). connected() tells whether it worked, error() why not (an errno).
  explicit raw_socket(const std::string& address);
  ~raw_socket();
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  bool connected() const noexcept { return fd_ >= 0; }
  int error() const noexcept { return error_; }
  int fd() const noexcept { return fd_; }
  bool send(wire::bytes_view data);
  // Reads exactly n bytes within `timeout`; nullopt on EOF, error or timeout.
  std::optional<wire::bytes> read_exact(std::size_t n, std::chrono::milliseconds timeout = 2s);
  // Reads one framed packet (header + size bytes) within `timeout`.
  std::optional<packet> read_packet(std::chrono::milliseconds timeout = 2s);
  // Reads until the peer closes (a stats server's document); nullopt on error or timeout.
  std::optional<std::string> read_to_eof(std::chrono::milliseconds timeout = 2s);
  // True if the peer closes the connection (EOF or reset) within `timeout` with no byte arriving
  // first.
  bool closed_by_peer(std::chrono::milliseconds timeout = 2s);
  // True once something (a byte or the end) can be read, within `timeout`; reads nothing.
  bool readable(std::chrono::milliseconds timeout = 2s);
  void close();

 private:
  bool wait_readable(std::chrono::steady_clock::time_point end);

  int fd_ = -1;
  int error_ = 0;
};

// [33, size, m2] + msgpack(v)
wire::bytes message_packet(std::uint8_t m2, const wire::value& v);
// The msgpack payload of `p`, decoded; nullopt if it is not valid msgpack.
std::optional<wire::value> reply_value(const packet& p);
// Sends `message` (modifier1 33, modifier2 0) on a fresh connection to `address` and reads the
// reply within `timeout`. nullopt (and `why`) on any failure, a failure reply (modifier1 255)
// included.
std::optional<wire::value> call(const std::string& address, const wire::value& message,
                                std::string* why = nullptr, std::chrono::milliseconds timeout = 5s);
// A round trip on a fresh connection: send `v` with m2 0 (echo), true if the same value returns.
bool fresh_echo(const std::string& address, const wire::value& v,
                std::chrono::milliseconds timeout);
// One uwsgi ping (modifier1 100) on a fresh connection; true if the pong came back in time.
bool ping_ok(const std::string& address, std::chrono::milliseconds timeout = 2s);
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

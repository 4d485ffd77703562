#pragma once
// The client side of brood messages: send_message (one node), send_multi_message (scatter to many
// nodes at once, gather in target order), send_packet (raw framed packets), ping.
//
// Sync functions are safe from any thread; each thread keeps its own pool of kept-alive
// connections per address (a pooled connection the peer closed is detected and replaced).
// A dead or stalled node costs at most `timeout` and never delays the other slots.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brood/client/call_error.hpp"
#include "brood/os/asio.hpp"
#include "brood/wire/bytes.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/value.hpp"

namespace brood::client {

using std::chrono::milliseconds;

struct packet {
  wire::header head;
  wire::bytes payload;
};
using packet_result = result<packet>;
using message_result = result<wire::value>;

struct target {
  std::string address;
  wire::value message;
};

// Sends [m1, size, m2] + payload to `address` and reads one framed reply packet.
packet_result send_packet(std::string_view address, std::uint8_t modifier1, std::uint8_t modifier2,
                          wire::bytes_view payload, milliseconds timeout);

// Sends `message` as msgpack; the reply's msgpack body comes back as a value. A failure reply
// (255/0) gives call_errc::remote with the remote type and message; 255/N (N != 0) gives `true`.
message_result send_message(std::string_view address, std::uint8_t modifier1,
                            std::uint8_t modifier2, const wire::value& message,
                            milliseconds timeout);

// Sends to every target at once; result i answers targets[i]. Takes at most about `timeout`.
std::vector<message_result> send_multi_message(const std::vector<target>& targets,
                                               std::uint8_t modifier1, std::uint8_t modifier2,
                                               milliseconds timeout);

// Pings a node (modifier1 100). The answer is the node's warning text, empty when all is well.
result<std::string> ping(std::string_view address, milliseconds timeout);

// When a signal interrupts the wait of a sync call above (EINTR), the call asks the interrupt
// check: true abandons it (every slot still pending fails with call_errc::interrupted), false
// goes on waiting. One check per process, callable from any thread; null (the default) always
// goes on. The Python module installs one that runs Python's signal handlers, so Ctrl-C during
// a call raises KeyboardInterrupt at once instead of after the call's timeout.
using interrupt_check = bool (*)() noexcept;
void set_interrupt_check(interrupt_check check) noexcept;

// Asynchronous client for Asio programs. Keeps a pool of connections per address.
// Thread-safety: use it only from the thread(s) running its io_context, like an Asio socket.
class async_client {
 public:
  explicit async_client(asio::io_context& io);
  ~async_client();
  async_client(const async_client&) = delete;
  async_client& operator=(const async_client&) = delete;

  using packet_callback = std::function<void(packet_result)>;
  using message_callback = std::function<void(message_result)>;
  using multi_callback = std::function<void(std::vector<message_result>)>;

  void start_send_packet(std::string address, std::uint8_t m1, std::uint8_t m2, wire::bytes payload,
                         milliseconds timeout, packet_callback done);
  void start_send_message(std::string address, std::uint8_t m1, std::uint8_t m2,
                          const wire::value& message, milliseconds timeout, message_callback done);
  void start_send_multi_message(std::vector<target> targets, std::uint8_t m1, std::uint8_t m2,
                                milliseconds timeout, multi_callback done);

  // Completion-token forms (callbacks, asio::use_awaitable, asio::use_future...).
  // Signature: void(message_result).
  template <class Token>
  auto async_send_message(std::string address, std::uint8_t m1, std::uint8_t m2,
                          wire::value message, milliseconds timeout, Token&& token) {
    return asio::async_initiate<Token, void(message_result)>(
        [this](auto handler, std::string a, std::uint8_t x, std::uint8_t y, wire::value v,
               milliseconds t) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          start_send_message(std::move(a), x, y, v, t,
                             [h](message_result r) { (*h)(std::move(r)); });
        },
        token, std::move(address), m1, m2, std::move(message), timeout);
  }
  // Signature: void(std::vector<message_result>).
  template <class Token>
  auto async_send_multi_message(std::vector<target> targets, std::uint8_t m1, std::uint8_t m2,
                                milliseconds timeout, Token&& token) {
    return asio::async_initiate<Token, void(std::vector<message_result>)>(
        [this](auto handler, std::vector<target> ts, std::uint8_t x, std::uint8_t y,
               milliseconds t) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          start_send_multi_message(std::move(ts), x, y, t,
                                   [h](std::vector<message_result> r) { (*h)(std::move(r)); });
        },
        token, std::move(targets), m1, m2, timeout);
  }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace brood::client

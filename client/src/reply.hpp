#pragma once
// Request framing and reply handling shared by the sync and async clients: one place decides
// what a reply means.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "brood/client/client.hpp"
#include "brood/wire/bytes.hpp"
#include "brood/wire/header.hpp"

namespace brood::client::detail {

// Accumulates one reply packet: a 4-byte header, then exactly `size` payload bytes (any size up
// to 65535, whatever the node's buffer-size). Reads go into space() and are reported by commit().
// Reuses its storage across calls.
class reply_buffer {
 public:
  void clear() noexcept { have_ = 0; }
  // Where the next read goes. REQUIRES: !complete().
  std::span<wire::byte> space();
  void commit(std::size_t n) noexcept { have_ += n; }

  bool started() const noexcept { return have_ > 0; }
  bool complete() const noexcept { return have_ >= wire::header_size && have_ >= total(); }
  // More bytes arrived than one reply: the connection must not be reused.
  bool overrun() const noexcept { return complete() && have_ > total(); }

  // REQUIRES: complete().
  wire::header head() const noexcept;
  wire::bytes_view payload() const noexcept;

 private:
  static constexpr std::size_t first_read = 4096;
  std::size_t total() const noexcept;

  wire::bytes buf_;
  std::size_t have_ = 0;
};

// Frames a request into `out` (cleared first). bad_request when the payload (or the msgpack form
// of `message`) exceeds 65535 bytes.
std::optional<call_error> build_packet_request(wire::bytes& out, std::uint8_t m1, std::uint8_t m2,
                                               wire::bytes_view payload);
std::optional<call_error> build_message_request(wire::bytes& out, std::uint8_t m1, std::uint8_t m2,
                                                const wire::value& message);

// The reply of send_packet: header and payload as received. REQUIRES: r.complete().
packet packet_from_reply(const reply_buffer& r);

// The reply of send_message. m1 == request_m1: the msgpack body (malformed -> protocol);
// 255/0: remote error from the failure body; 255/N (N != 0): true; else protocol.
// REQUIRES: r.complete().
message_result message_from_reply(std::string_view address, std::uint8_t request_m1,
                                  const reply_buffer& r);

// The reply of ping: must be [100, size, 1]; the payload is the warning text.
result<std::string> ping_from_reply(std::string_view address, const reply_buffer& r);

}  // namespace brood::client::detail

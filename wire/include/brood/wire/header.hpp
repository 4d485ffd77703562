#pragma once
// The 4-byte uwsgi packet header (docs/protocol.md §1): modifier1, u16 LE size, modifier2.
#include <array>
#include <cstdint>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/limits.hpp"
#include "brood/wire/modifier.hpp"

namespace brood::wire {

inline constexpr std::size_t header_size = 4;

struct header {
  std::uint8_t modifier1 = 0;
  std::uint16_t size = 0;  // payload bytes after the header (request body excluded)
  std::uint8_t modifier2 = 0;

  friend bool operator==(const header&, const header&) = default;
};

std::array<byte, header_size> encode_header(const header& h) noexcept;
// REQUIRES: b.size() >= header_size.
header decode_header(bytes_view b) noexcept;

// Incremental framing of one packet at the front of `buffered` (bytes accumulated so far).
// need_more: fewer than 4 + size bytes so far. bad (size_exceeds_buffer): size > lim.buffer_size,
// known as soon as the header is in. done: consumed == 4 + size; `out` holds the header.
// Bytes past `consumed` (a request body, the next packet) are left to the caller.
decode_result parse_packet(bytes_view buffered, const limits& lim, header& out);

// Appends header + payload. Error payload_too_long when payload.size() > 65535.
std::error_code append_packet(bytes& out, std::uint8_t modifier1, std::uint8_t modifier2,
                              bytes_view payload);

}  // namespace brood::wire

#pragma once
// Private helpers of the wire module: u16 little-endian fields (docs/protocol.md §1).
#include <cstddef>
#include <cstdint>

#include "brood/wire/bytes.hpp"

namespace brood::wire::detail {

inline constexpr std::size_t u16_size = 2;
inline constexpr std::size_t u16_max = 0xffff;

// REQUIRES: at + 2 <= b.size().
inline std::uint16_t load_le16(bytes_view b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
}

inline void append_le16(bytes& out, std::size_t v) {
  out.push_back(static_cast<byte>(v & 0xff));
  out.push_back(static_cast<byte>((v >> 8) & 0xff));
}

inline void append_chars(bytes& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace brood::wire::detail

#pragma once
// Byte buffer vocabulary shared by every brood module.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace brood::wire {

using byte = std::uint8_t;
using bytes = std::vector<byte>;
using bytes_view = std::span<const byte>;

inline bytes_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const byte*>(s.data()), s.size()};
}
inline std::string_view as_chars(bytes_view b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace brood::wire

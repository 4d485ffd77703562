#pragma once
// Decoder limits, named and defaulted as uWSGI's options (docs/protocol.md §4).
#include <cstddef>

namespace brood::wire {

struct limits {
  // buffer-size: the largest pktsize accepted (the vars block / payload, body excluded).
  // Default 4096; at most 65535 (pktsize is a u16).
  std::size_t buffer_size = 4096;
  // max-vars: as uWSGI, a vars block may hold at most 2 * max_vars key/value pairs
  // (64 -> 128 pairs).
  std::size_t max_vars = 64;
  // msgpack payloads: deepest nesting of arrays/maps accepted.
  std::size_t max_depth = 64;

  static constexpr std::size_t max_buffer_size = 65535;
  std::size_t max_pairs() const noexcept { return 2 * max_vars; }
};

}  // namespace brood::wire

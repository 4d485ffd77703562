#pragma once
// uwsgi modifier1 values brood knows (docs/protocol.md §9) and the modifier2 values that have a
// fixed meaning for them. Never write these as bare numbers.
#include <cstdint>

namespace brood::wire {

enum class modifier1 : std::uint8_t {
  wsgi = 0,
  spooler = 17,
  manage_path_info = 30,
  message = 31,
  message_array = 32,
  message_marshal = 33,  // brood: msgpack payload (uWSGI 0.9 used Python marshal)
  ping = 100,
  echo = 101,
  signal = 110,
  cache = 111,
  rpc = 173,
  subscription = 224,
  response = 255,  // generic reply
};

// modifier2 of a ping (modifier1 100) packet.
enum class ping_modifier2 : std::uint8_t { request = 0, reply = 1 };

// modifier2 of a generic response (modifier1 255).
enum class response_modifier2 : std::uint8_t { failure = 0, success = 1 };

constexpr std::uint8_t to_byte(modifier1 m) noexcept { return static_cast<std::uint8_t>(m); }
constexpr std::uint8_t to_byte(ping_modifier2 m) noexcept { return static_cast<std::uint8_t>(m); }
constexpr std::uint8_t to_byte(response_modifier2 m) noexcept {
  return static_cast<std::uint8_t>(m);
}

}  // namespace brood::wire

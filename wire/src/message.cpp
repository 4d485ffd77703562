#include "brood/wire/message.hpp"

#include <algorithm>

#include "brood/wire/modifier.hpp"
#include "brood/wire/msgpack_codec.hpp"
#include "le16.hpp"

namespace brood::wire {
namespace {

constexpr std::string_view error_key = "error";
constexpr std::string_view message_key = "message";
constexpr std::string_view default_type = "failure";
constexpr std::string_view default_message = "the node answered failure";
// An error type longer than this is cut (it names a kind of error, not a story).
constexpr std::size_t max_type_size = 1024;
// msgpack overhead: fixmap header, and the largest str header (str16) for each string.
constexpr std::size_t map_header_size = 1;
constexpr std::size_t str_header_max = 3;

// Cuts `s` to at most `n` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return s.substr(0, n);
}

void patch_size(bytes& out, std::size_t header_at, std::size_t payload_size) {
  out[header_at + 1] = static_cast<byte>(payload_size & 0xff);
  out[header_at + 2] = static_cast<byte>(payload_size >> 8);
}

}  // namespace

std::error_code append_value_packet(bytes& out, std::uint8_t modifier1, std::uint8_t modifier2,
                                    const value& v) {
  const std::size_t header_at = out.size();
  const auto h = encode_header({modifier1, 0, modifier2});
  out.insert(out.end(), h.begin(), h.end());
  append_msgpack(out, v);
  const std::size_t payload_size = out.size() - header_at - header_size;
  if (payload_size > limits::max_buffer_size) {
    out.resize(header_at);
    return errc::payload_too_long;
  }
  patch_size(out, header_at, payload_size);
  return {};
}

void append_error_reply(bytes& out, std::string_view type, std::string_view message) {
  type = cut_utf8(type, max_type_size);
  const std::size_t fixed = map_header_size + (1 + error_key.size()) + str_header_max +
                            type.size() + (1 + message_key.size()) + str_header_max;
  message = cut_utf8(message, limits::max_buffer_size - fixed);
  map body{{std::string(error_key), std::string(type)},
           {std::string(message_key), std::string(message)}};
  // Cannot fail: the body was sized to fit above.
  (void)append_value_packet(out, to_byte(modifier1::response), to_byte(response_modifier2::failure),
                            body);
}

error_info decode_error_reply(bytes_view payload, const limits& lim) {
  error_info info{std::string(default_type), std::string(default_message)};
  value v;
  if (payload.empty() || !decode_msgpack(payload, lim, v).is_done() || !v.is<map>()) return info;
  const value* type = nullptr;
  const value* message = nullptr;
  for (const auto& [key, val] : v.as<map>()) {
    if (!key.is<std::string>() || !val.is<std::string>()) continue;
    if (!type && key.as<std::string>() == error_key) type = &val;
    if (!message && key.as<std::string>() == message_key) message = &val;
  }
  if (!type) return info;
  info.type = type->as<std::string>();
  info.message = message ? message->as<std::string>() : std::string();
  return info;
}

}  // namespace brood::wire

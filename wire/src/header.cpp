#include "brood/wire/header.hpp"

#include <string>

#include "le16.hpp"

namespace brood::wire {

std::array<byte, header_size> encode_header(const header& h) noexcept {
  return {h.modifier1, static_cast<byte>(h.size & 0xff), static_cast<byte>(h.size >> 8),
          h.modifier2};
}

header decode_header(bytes_view b) noexcept { return {b[0], detail::load_le16(b, 1), b[3]}; }

decode_result parse_packet(bytes_view buffered, const limits& lim, header& out) {
  if (buffered.size() < header_size) return decode_result::need_more();
  const header h = decode_header(buffered);
  if (h.size > lim.buffer_size) {
    return decode_result::bad(errc::size_exceeds_buffer, "packet size " + std::to_string(h.size) +
                                                             " exceeds buffer-size " +
                                                             std::to_string(lim.buffer_size));
  }
  const std::size_t total = header_size + h.size;
  if (buffered.size() < total) return decode_result::need_more();
  out = h;
  return decode_result::done(total);
}

std::error_code append_packet(bytes& out, std::uint8_t modifier1, std::uint8_t modifier2,
                              bytes_view payload) {
  if (payload.size() > limits::max_buffer_size) return errc::payload_too_long;
  const auto h = encode_header({modifier1, static_cast<std::uint16_t>(payload.size()), modifier2});
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return {};
}

}  // namespace brood::wire

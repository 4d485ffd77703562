#include "reply.hpp"

#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/msgpack_codec.hpp"
#include "errors.hpp"

namespace brood::client::detail {
namespace {

// Replies are bounded by the u16 size field, not by any buffer-size.
wire::limits reply_limits() {
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  return lim;
}

std::string describe(const wire::header& h) {
  return "[modifier1 " + std::to_string(h.modifier1) + ", size " + std::to_string(h.size) +
         ", modifier2 " + std::to_string(h.modifier2) + "]";
}

}  // namespace

std::size_t reply_buffer::total() const noexcept {
  if (have_ < wire::header_size) return wire::header_size;
  return wire::header_size + wire::decode_header(buf_).size;
}

std::span<wire::byte> reply_buffer::space() {
  std::size_t want = have_ < wire::header_size ? wire::header_size + first_read : total();
  if (buf_.size() < want) buf_.resize(want);
  return {buf_.data() + have_, std::max(want, have_) - have_};
}

wire::header reply_buffer::head() const noexcept { return wire::decode_header(buf_); }

wire::bytes_view reply_buffer::payload() const noexcept {
  return {buf_.data() + wire::header_size, total() - wire::header_size};
}

std::optional<call_error> build_packet_request(wire::bytes& out, std::uint8_t m1, std::uint8_t m2,
                                               wire::bytes_view payload) {
  out.clear();
  if (wire::append_packet(out, m1, m2, payload)) {
    return bad_request_error("payload of " + std::to_string(payload.size()) +
                             " bytes exceeds the packet limit of 65535");
  }
  return std::nullopt;
}

std::optional<call_error> build_message_request(wire::bytes& out, std::uint8_t m1, std::uint8_t m2,
                                                const wire::value& message) {
  out.clear();
  if (wire::append_value_packet(out, m1, m2, message)) {
    return bad_request_error("message too large: its msgpack form exceeds 65535 bytes");
  }
  return std::nullopt;
}

packet packet_from_reply(const reply_buffer& r) {
  wire::bytes_view p = r.payload();
  return packet{r.head(), wire::bytes(p.begin(), p.end())};
}

message_result message_from_reply(std::string_view address, std::uint8_t request_m1,
                                  const reply_buffer& r) {
  const wire::header h = r.head();
  const wire::limits lim = reply_limits();
  if (h.modifier1 == request_m1) {
    wire::value v;
    wire::decode_result d = wire::decode_msgpack(r.payload(), lim, v);
    if (!d.is_done()) return protocol_error(address, "malformed msgpack body: " + d.why);
    return v;
  }
  if (h.modifier1 == wire::to_byte(wire::modifier1::response)) {
    if (h.modifier2 == wire::to_byte(wire::response_modifier2::failure)) {
      wire::error_info info = wire::decode_error_reply(r.payload(), lim);
      return remote_error(address, std::move(info.type), info.message);
    }
    return wire::value(true);
  }
  return protocol_error(address, "unexpected reply " + describe(h) + " to a modifier1 " +
                                     std::to_string(request_m1) + " request");
}

result<std::string> ping_from_reply(std::string_view address, const reply_buffer& r) {
  const wire::header h = r.head();
  if (h.modifier1 != wire::to_byte(wire::modifier1::ping) ||
      h.modifier2 != wire::to_byte(wire::ping_modifier2::reply)) {
    return protocol_error(address, "unexpected reply " + describe(h) + " to a ping");
  }
  return std::string(wire::as_chars(r.payload()));
}

}  // namespace brood::client::detail

#pragma once
// The subscription datagram (modifier1 224, docs/protocol.md §12.4): a node announces (m2 0) or
// withdraws (m2 != 0) itself to a router, over UDP or a unix datagram socket. Pure: no I/O. The
// signature itself (RSA) is made and checked by the caller; this codec only places and finds it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/vars.hpp"

namespace brood::wire {

// A router reads at most this many bytes of one datagram; a longer one cannot be encoded.
inline constexpr std::size_t max_subscription_datagram = 4096;
// The longest key and the longest address.
inline constexpr std::size_t max_subscription_field = 255;

// One subscription. Views point into the decoded datagram (decode) or into the caller's strings
// (encode).
struct subscription {
  bool unsubscribe = false;  // m2 != 0 on the wire (encoded as 1)
  std::string_view key;      // 1..255 bytes
  std::string_view address;  // 1..255 bytes: "host:port" or a unix path
  std::uint8_t modifier1 = 0;
  std::uint8_t modifier2 = 0;
  std::uint64_t cores = 0;
  std::uint64_t load = 0;                     // the node's listen queue
  std::uint64_t weight = 0;                   // 0 is treated as 1 by routers
  std::string_view sni_key, sni_crt, sni_ca;  // empty: not sent
  std::string_view notify;                    // empty: not sent
  std::optional<std::uint64_t> unix_time;     // "unix": sent (and required) when signed
  // "keepalive=1" (brood extension, docs/protocol.md §12.4): the node frames its answers to
  // requests carrying BROOD_KEEPALIVE=1 and keeps their connection open. Sent only when true.
  bool keepalive = false;
  std::string_view sign;  // decode only: the raw signature bytes, empty when unsigned
};

// Encodes `s` as a whole datagram into `out` (cleared first): header [224, size, m2] and the
// records key, address, modifier1, modifier2, cores, load, weight, [sni_key, sni_crt, sni_ca],
// [notify], [keepalive], [unix] in that order, numbers in decimal. s.sign is ignored (see
// append_subscription_sign). Errors (out unchanged): field_too_long for an empty or over-255-byte
// key or address, payload_too_long when the datagram would pass max_subscription_datagram.
std::error_code encode_subscription(const subscription& s, bytes& out);

// The bytes a signature covers: the datagram's body (everything after the 4-byte header) as built
// by encode_subscription, before any sign record. REQUIRES: packet.size() >= 4.
bytes_view subscription_signed_base(bytes_view packet) noexcept;

// Appends the trailing "sign" record holding `signature` and fixes the header's size. Errors
// (packet unchanged): payload_too_long past max_subscription_datagram.
std::error_code append_subscription_sign(bytes& packet, bytes_view signature);

// Decodes one whole datagram. `scratch` is reused for the records (no other allocation unless
// bad). done: `out` is filled, consumed == datagram.size(), and when signed `signed_base` holds
// the body bytes before the sign record. bad (errc::subscription_bad, `why` names the field):
// shorter than a header, header size not equal to the bytes after it, a malformed vars block, an
// unknown or repeated key, no key or no address, a key or address of 0 or over 255 bytes, a number
// that is not decimal (or a modifier over 255), a "sign" that is not the last record, or a sign
// without "unix". The m1 byte is not checked (as uWSGI's routers).
decode_result decode_subscription(bytes_view datagram, std::vector<var>& scratch, subscription& out,
                                  bytes_view& signed_base);

}  // namespace brood::wire

#pragma once
// Marshalled messages (modifier1 33 and any modifier1 carrying a msgpack value) and their replies,
// as brood frames them (docs/protocol.md).
//   request : [m1, size, m2] + msgpack(value)
//   reply   : [m1, size, m2] + msgpack(answer)            same m1/m2 as the request
//   failure : [255, size, 0] + msgpack({"error": type, "message": text})   brood extension; an
//             empty body is a plain failure (as uWSGI's FF 00 00 00)
//   success : [255, 0, m2!=0]                               a bare "true" (uWSGI 0.9 semantics)
#include <cstdint>
#include <string>
#include <string_view>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/value.hpp"

namespace brood::wire {

// Appends a framed packet [m1, size, m2] + msgpack(v). Error payload_too_long when the msgpack
// form exceeds 65535 bytes; `out` is unchanged then.
std::error_code append_value_packet(bytes& out, std::uint8_t modifier1, std::uint8_t modifier2,
                                    const value& v);

// Appends a failure reply carrying an error type and message. The message is cut so the packet
// always fits the u16 size. Never fails.
void append_error_reply(bytes& out, std::string_view type, std::string_view message);

struct error_info {
  std::string type;
  std::string message;
};
// Reads the body of a failure reply (modifier1 255, modifier2 0). An empty or foreign body gives
// {"failure", "the node answered failure"}.
error_info decode_error_reply(bytes_view payload, const limits& lim);

}  // namespace brood::wire

#pragma once
// msgpack encoding of brood::wire::value, the payload of marshalled messages (modifier1 33).
#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/limits.hpp"
#include "brood/wire/value.hpp"

namespace brood::wire {

// Appends the msgpack form of `v` to `out`. Integers use the smallest msgpack form; a
// non-negative int64 is written as an unsigned.
void append_msgpack(bytes& out, const value& v);
bytes encode_msgpack(const value& v);

// Decodes exactly one msgpack object filling all of `payload` (a complete packet payload).
// done: consumed == payload.size(). bad: msgpack_malformed / msgpack_truncated (data ends early,
// with the offset) / msgpack_trailing (bytes after the object) / msgpack_too_deep
// (nesting > lim.max_depth).
decode_result decode_msgpack(bytes_view payload, const limits& lim, value& out);

}  // namespace brood::wire

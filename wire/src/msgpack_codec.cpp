#include "brood/wire/msgpack_codec.hpp"

#include <bit>
#include <cstring>
#include <msgpack.hpp>
#include <string>
#include <type_traits>

namespace brood::wire {
namespace {

// The Stream msgpack::packer writes to: appends to a brood byte vector.
class bytes_sink {
 public:
  explicit bytes_sink(bytes& out) noexcept : out_(out) {}
  void write(const char* data, std::size_t n) {
    out_.insert(out_.end(), reinterpret_cast<const byte*>(data),
                reinterpret_cast<const byte*>(data) + n);
  }

 private:
  bytes& out_;
};

using packer = msgpack::packer<bytes_sink>;

// float64 written by hand: msgpack::packer::pack_double turns integral doubles into integers,
// which would not decode back to a double.
void pack_float64(bytes_sink& sink, double d) {
  constexpr unsigned char float64_tag = 0xcb;
  const auto bits = std::bit_cast<std::uint64_t>(d);
  char buf[9];
  buf[0] = static_cast<char>(float64_tag);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  sink.write(buf, sizeof buf);
}

void pack_value(packer& pk, bytes_sink& sink, const value& v);

void pack_blob(packer& pk, const binary& b) {
  pk.pack_bin(static_cast<std::uint32_t>(b.data.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(b.data.data()),
                   static_cast<std::uint32_t>(b.data.size()));
}

void pack_blob(packer& pk, const extension& e) {
  pk.pack_ext(e.data.size(), e.type);
  pk.pack_ext_body(reinterpret_cast<const char*>(e.data.data()),
                   static_cast<std::uint32_t>(e.data.size()));
}

void pack_value(packer& pk, bytes_sink& sink, const value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, nil>) {
          pk.pack_nil();
        } else if constexpr (std::is_same_v<T, bool>) {
          x ? pk.pack_true() : pk.pack_false();
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          x >= 0 ? pk.pack_uint64(static_cast<std::uint64_t>(x)) : pk.pack_int64(x);
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
          pk.pack_uint64(x);
        } else if constexpr (std::is_same_v<T, double>) {
          pack_float64(sink, x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          pk.pack_str(static_cast<std::uint32_t>(x.size()));
          pk.pack_str_body(x.data(), static_cast<std::uint32_t>(x.size()));
        } else if constexpr (std::is_same_v<T, binary> || std::is_same_v<T, extension>) {
          pack_blob(pk, x);
        } else if constexpr (std::is_same_v<T, array>) {
          pk.pack_array(static_cast<std::uint32_t>(x.size()));
          for (const value& item : x) pack_value(pk, sink, item);
        } else {
          pk.pack_map(static_cast<std::uint32_t>(x.size()));
          for (const auto& [key, val] : x) {
            pack_value(pk, sink, key);
            pack_value(pk, sink, val);
          }
        }
      },
      v.variant());
}

bytes copy_bytes(const char* p, std::size_t n) {
  const auto* b = reinterpret_cast<const byte*>(p);
  return bytes(b, b + n);
}

// REQUIRES: `o` came from msgpack::unpack with a depth limit (the recursion is bounded by it).
value to_value(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return nil{};
    case msgpack::type::BOOLEAN:
      return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return static_cast<std::uint64_t>(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return static_cast<std::int64_t>(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o.via.f64;
    case msgpack::type::STR:
      return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN:
      return binary{copy_bytes(o.via.bin.ptr, o.via.bin.size)};
    case msgpack::type::EXT:
      return extension{o.via.ext.type(), copy_bytes(o.via.ext.data(), o.via.ext.size)};
    case msgpack::type::ARRAY: {
      array a;
      a.reserve(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i)
        a.push_back(to_value(o.via.array.ptr[i]));
      return a;
    }
    case msgpack::type::MAP: {
      map m;
      m.reserve(o.via.map.size);
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        m.emplace_back(to_value(o.via.map.ptr[i].key), to_value(o.via.map.ptr[i].val));
      }
      return m;
    }
  }
  return nil{};
}

// Strings, bins and exts point into the payload while it is converted: no copy into the zone.
bool reference_payload(msgpack::type::object_type, std::size_t, void*) { return true; }

// Finds where a payload msgpack::unpack called malformed goes wrong (error path only).
class error_locator : public msgpack::null_visitor {
 public:
  void parse_error(std::size_t /*parsed_offset*/, std::size_t error_offset) {
    at = error_offset;  // the offset of the offending byte
  }
  std::size_t at = 0;
};

std::size_t locate_parse_error(bytes_view payload) {
  error_locator v;
  std::size_t off = 0;
  msgpack::parse(reinterpret_cast<const char*>(payload.data()), payload.size(), off, v);
  return v.at < payload.size() ? v.at : 0;
}

std::string hex_byte(byte b) {
  static constexpr char digits[] = "0123456789abcdef";
  return {digits[b >> 4], digits[b & 0xf]};
}

std::string payload_desc(bytes_view payload) {
  return std::to_string(payload.size()) + "-byte payload";
}

// Turns the exception msgpack::unpack threw into brood's error and a message saying where.
decode_result unpack_failure(const msgpack::unpack_error& e, bytes_view payload,
                             const limits& lim) {
  const std::string desc = payload_desc(payload);
  if (dynamic_cast<const msgpack::insufficient_bytes*>(&e)) {
    return decode_result::bad(errc::msgpack_truncated, "msgpack object cut off at offset " +
                                                           std::to_string(payload.size()) +
                                                           ", the end of a " + desc);
  }
  if (dynamic_cast<const msgpack::depth_size_overflow*>(&e)) {
    return decode_result::bad(
        errc::msgpack_too_deep,
        "msgpack nesting deeper than " + std::to_string(lim.max_depth) + " levels in a " + desc);
  }
  if (dynamic_cast<const msgpack::size_overflow*>(&e)) {
    // A declared length or element count larger than the payload itself: the data ends early.
    return decode_result::bad(
        errc::msgpack_truncated,
        std::string("msgpack ") + e.what() + ": a declared length exceeds the " + desc);
  }
  if (dynamic_cast<const msgpack::parse_error*>(&e)) {
    const std::size_t at = locate_parse_error(payload);
    return decode_result::bad(errc::msgpack_malformed, "invalid msgpack type byte 0x" +
                                                           hex_byte(payload[at]) + " at offset " +
                                                           std::to_string(at) + " of a " + desc);
  }
  return decode_result::bad(errc::msgpack_malformed,
                            std::string("malformed msgpack (") + e.what() + ") in a " + desc);
}

}  // namespace

void append_msgpack(bytes& out, const value& v) {
  bytes_sink sink(out);
  packer pk(sink);
  pack_value(pk, sink, v);
}

bytes encode_msgpack(const value& v) {
  bytes out;
  append_msgpack(out, v);
  return out;
}

decode_result decode_msgpack(bytes_view payload, const limits& lim, value& out) {
  const std::size_t n = payload.size();
  const msgpack::unpack_limit limit(n, n, n, n, n, lim.max_depth);
  std::size_t off = 0;
  try {
    const msgpack::object_handle h = msgpack::unpack(reinterpret_cast<const char*>(payload.data()),
                                                     n, off, reference_payload, nullptr, limit);
    if (off != n) {
      return decode_result::bad(errc::msgpack_trailing,
                                std::to_string(n - off) + " bytes left after the msgpack object " +
                                    "ending at offset " + std::to_string(off) + " of a " +
                                    payload_desc(payload));
    }
    out = to_value(h.get());
    return decode_result::done(n);
  } catch (const msgpack::unpack_error& e) {
    return unpack_failure(e, payload, lim);
  }
}

}  // namespace brood::wire

#pragma once
// The payload of a legion message of type `placement` (docs/protocol.md §14.5): the msgpack of one
// placement_message (placement.hpp), its table included. Pure: no I/O. The legion frame around it
// (message.hpp) is authenticated first; the payload is still checked field by field, bounded, and
// refused with a reason naming what was wrong (fuzz/legion_placement_fuzz.cpp).
#include <cstddef>
#include <string>
#include <string_view>

#include "brood/legion/message.hpp"
#include "brood/legion/placement.hpp"

namespace brood::legion {

struct placement_limits {
  std::size_t max_string = 4096;  // a name or an address
  std::size_t max_list = 65536;   // entries of any list or map (the frame bounds them anyway)
  std::uint32_t max_replicas = 1024;
};

// The msgpack bytes (as a std::string, the type of message::payload).
std::string encode_placement(const placement_message& m);
// Fills `out` only when the whole payload is valid. Reasons: "malformed placement: ...",
// "placement is not a msgpack map", "placement field 'F' is missing", "... has the wrong type",
// "... appears twice", "... is too long (N bytes, at most M)", "... has too many entries (N, at
// most M)", "placement field 'kind' has an unknown value V", "placement field 'replicas' is out
// of range (V)", "placement field 'F' has an empty name".
decode_result decode_placement(std::string_view payload, const placement_limits& lim,
                               placement_message& out);

// A whole legion message carrying `m` (envelope fields to be stamped by the sender).
message placement_envelope(const placement_message& m);

}  // namespace brood::legion

#pragma once
// The uwsgi array (docs/protocol.md §3): repeated [u16 LE len][bytes], no keys. Used by RPC
// (modifier1 173) and the fork server.
#include <string_view>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/limits.hpp"

namespace brood::wire {

// Decodes a complete array block into views of `block`. bad: truncated length field or an item
// overrunning the block, or more than lim.max_pairs() items.
decode_result decode_array(bytes_view block, const limits& lim, std::vector<std::string_view>& out);

// Appends the items. Error field_too_long for an item over 65535 bytes; `out` unchanged then.
std::error_code append_array(bytes& out, const std::vector<std::string_view>& items);

}  // namespace brood::wire

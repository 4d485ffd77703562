#pragma once
// The uwsgi vars block (docs/protocol.md §2): records of [u16 LE key_len][key][u16 LE
// val_len][val].
#include <string_view>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/limits.hpp"

namespace brood::wire {

struct var {
  std::string_view key;
  std::string_view value;
  friend bool operator==(const var&, const var&) = default;
};

// Decodes a complete vars block. `out` is cleared and filled with views into `block` (no
// allocation per field beyond out's growth). done: consumed == block.size(). bad: zero key length,
// truncated length field, key/value overrun, or more than lim.max_pairs() records; `why` names
// the field, its offset and the block size.
decode_result decode_vars(bytes_view block, const limits& lim, std::vector<var>& out);

// Appends the records of `vars` to `out`. Error field_too_long for a key or value over 65535
// bytes or an empty key; `out` is unchanged then.
std::error_code append_vars(bytes& out, const std::vector<var>& vars);

// The value of the first record named `key`, or nullopt-like empty view with found=false.
struct var_lookup {
  bool found = false;
  std::string_view value;
};
var_lookup find_var(const std::vector<var>& vars, std::string_view key) noexcept;

}  // namespace brood::wire

#include "brood/wire/vars.hpp"

#include <string>

#include "field_reader.hpp"
#include "le16.hpp"

namespace brood::wire {
namespace {

decode_result too_many_vars(const limits& lim) {
  return decode_result::bad(errc::too_many_vars, "more than " + std::to_string(lim.max_pairs()) +
                                                     " vars (max-vars " +
                                                     std::to_string(lim.max_vars) + ")");
}

// Reads one record at the reader's offset into `v`.
bool read_record(detail::field_reader& r, var& v, decode_result& bad) {
  std::size_t len = 0;
  if (!r.read_length("key", len, bad)) return false;
  if (len == 0) {
    bad = decode_result::bad(errc::zero_key_length, "zero key length at offset " +
                                                        std::to_string(r.length_offset()) +
                                                        " in a " + r.block_desc());
    return false;
  }
  if (!r.read_bytes("key", len, errc::key_overrun, v.key, bad)) return false;
  if (!r.read_length("value", len, bad)) return false;
  return r.read_bytes("value", len, errc::value_overrun, v.value, bad);
}

}  // namespace

decode_result decode_vars(bytes_view block, const limits& lim, std::vector<var>& out) {
  out.clear();
  detail::field_reader r(block);
  decode_result bad;
  while (!r.at_end()) {
    if (out.size() >= lim.max_pairs()) return too_many_vars(lim);
    var v;
    if (!read_record(r, v, bad)) return bad;
    out.push_back(v);
  }
  return decode_result::done(block.size());
}

std::error_code append_vars(bytes& out, const std::vector<var>& vars) {
  for (const var& v : vars) {
    if (v.key.empty() || v.key.size() > detail::u16_max || v.value.size() > detail::u16_max) {
      return errc::field_too_long;
    }
  }
  for (const var& v : vars) {
    detail::append_le16(out, v.key.size());
    detail::append_chars(out, v.key);
    detail::append_le16(out, v.value.size());
    detail::append_chars(out, v.value);
  }
  return {};
}

var_lookup find_var(const std::vector<var>& vars, std::string_view key) noexcept {
  for (const var& v : vars) {
    if (v.key == key) return {true, v.value};
  }
  return {};
}

}  // namespace brood::wire

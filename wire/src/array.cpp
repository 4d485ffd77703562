#include "brood/wire/array.hpp"

#include <string>

#include "field_reader.hpp"
#include "le16.hpp"

namespace brood::wire {

decode_result decode_array(bytes_view block, const limits& lim,
                           std::vector<std::string_view>& out) {
  out.clear();
  detail::field_reader r(block);
  decode_result bad;
  while (!r.at_end()) {
    if (out.size() >= lim.max_pairs()) {
      return decode_result::bad(errc::too_many_vars,
                                "more than " + std::to_string(lim.max_pairs()) +
                                    " items (max-vars " + std::to_string(lim.max_vars) + ")");
    }
    std::size_t len = 0;
    std::string_view item;
    if (!r.read_length("item", len, bad)) return bad;
    if (!r.read_bytes("item", len, errc::item_overrun, item, bad)) return bad;
    out.push_back(item);
  }
  return decode_result::done(block.size());
}

std::error_code append_array(bytes& out, const std::vector<std::string_view>& items) {
  for (std::string_view item : items) {
    if (item.size() > detail::u16_max) return errc::field_too_long;
  }
  for (std::string_view item : items) {
    detail::append_le16(out, item.size());
    detail::append_chars(out, item);
  }
  return {};
}

}  // namespace brood::wire

// libFuzzer target: packet framing, then the vars block and uwsgi array decoders on the payload.
#include <cstdlib>
#include <string_view>
#include <vector>

#include "brood/wire/array.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/vars.hpp"

namespace {

using namespace brood::wire;

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view field, bytes_view block) {
  const auto* b = reinterpret_cast<const char*>(block.data());
  return field.empty() || (field.data() >= b && field.data() + field.size() <= b + block.size());
}

void frame(bytes_view data, const limits& lim) {
  header h;
  const decode_result r = parse_packet(data, lim, h);
  if (r.is_bad()) {
    check(r.error == errc::size_exceeds_buffer && !r.why.empty() && data.size() >= header_size);
    return;
  }
  if (!r.is_done()) {
    check(data.size() < header_size || data.size() < header_size + decode_header(data).size);
    return;
  }
  check(r.consumed == header_size + h.size && r.consumed <= data.size() &&
        h.size <= lim.buffer_size);
  const bytes_view payload = data.subspan(header_size, h.size);
  std::vector<var> vars;
  const decode_result v = decode_vars(payload, lim, vars);
  check(v.is_done() ? v.consumed == payload.size() && vars.size() <= lim.max_pairs()
                    : v.is_bad() && !v.why.empty());
  for (const var& x : vars)
    check(!x.key.empty() && inside(x.key, payload) && inside(x.value, payload));
  std::vector<std::string_view> items;
  const decode_result a = decode_array(payload, lim, items);
  check(a.is_done() || (a.is_bad() && !a.why.empty()));
  for (std::string_view x : items) check(inside(x, payload));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view in(data, size);
  frame(in, limits{});
  limits big;
  big.buffer_size = limits::max_buffer_size;
  big.max_vars = 1;
  frame(in, big);
  return 0;
}

// libFuzzer target: the msgpack decoder. A decoded value re-encodes, decodes again to an equal
// value (NaN aside), and its encoding is stable.
#include <cmath>
#include <cstdlib>

#include "brood/wire/msgpack_codec.hpp"

namespace {

using namespace brood::wire;

bool has_nan(const value& v) {
  if (v.is<double>()) return std::isnan(v.as<double>());
  if (v.is<array>()) {
    for (const value& x : v.as<array>()) {
      if (has_nan(x)) return true;
    }
  }
  if (v.is<map>()) {
    for (const auto& [k, x] : v.as<map>()) {
      if (has_nan(k) || has_nan(x)) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view in(data, size);
  limits lim;
  lim.max_depth = 16;
  value v;
  const decode_result r = decode_msgpack(in, lim, v);
  if (r.is_bad()) {
    if (!r.error || r.why.empty()) std::abort();
    return 0;
  }
  if (!r.is_done() || r.consumed != size) std::abort();
  (void)to_string(v);
  const bytes once = encode_msgpack(v);
  value w;
  const decode_result r2 = decode_msgpack(once, lim, w);
  if (!r2.is_done() || r2.consumed != once.size()) std::abort();
  if (!has_nan(v) && !(w == v)) std::abort();
  if (encode_msgpack(w) != once) std::abort();
  return 0;
}

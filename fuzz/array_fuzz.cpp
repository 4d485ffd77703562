// libFuzzer target: the uwsgi array decoder. A decoded array re-encodes to the same bytes.
#include <cstdlib>
#include <string_view>
#include <vector>

#include "brood/wire/array.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  const bytes_view in(data, size);
  limits lim;
  lim.max_vars = size > 0 ? data[0] % 80 : 64;
  std::vector<std::string_view> items;
  const decode_result r = decode_array(in, lim, items);
  if (r.is_bad()) {
    if (!r.error || r.why.empty()) std::abort();
    return 0;
  }
  if (!r.is_done() || r.consumed != size || items.size() > lim.max_pairs()) std::abort();
  bytes again;
  if (append_array(again, items)) std::abort();
  if (again != bytes(in.begin(), in.end())) std::abort();
  return 0;
}

// libFuzzer target: the vars block decoder. A decoded block re-encodes to the same bytes.
#include <cstdlib>
#include <vector>

#include "brood/wire/vars.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  const bytes_view in(data, size);
  limits lim;
  lim.max_vars = size > 0 ? data[0] % 80 : 64;
  std::vector<var> vars;
  const decode_result r = decode_vars(in, lim, vars);
  if (r.is_bad()) {
    if (!r.error || r.why.empty()) std::abort();
    return 0;
  }
  if (!r.is_done() || r.consumed != size || vars.size() > lim.max_pairs()) std::abort();
  bytes again;
  if (append_vars(again, vars)) std::abort();
  if (again != bytes(in.begin(), in.end())) std::abort();
  return 0;
}

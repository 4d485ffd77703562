// libFuzzer target: the subscription datagram decoder (subscription.hpp). A decoded unsigned
// datagram whose records are in encode order re-encodes to the same bytes; a signed one keeps its
// signed base inside the body.
#include <cstdlib>
#include <cstring>

#include "brood/wire/header.hpp"
#include "brood/wire/subscription.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  const bytes_view in(data, size);
  std::vector<var> scratch;
  subscription s;
  bytes_view base;
  const decode_result r = decode_subscription(in, scratch, s, base);
  if (r.is_bad()) {
    if (!r.error || r.why.empty()) std::abort();
    return 0;
  }
  if (!r.is_done() || r.consumed != size || s.key.empty() || s.address.empty()) std::abort();
  if (!s.sign.empty()) {
    if (base.size() + 4 + 4 + s.sign.size() != size - header_size) std::abort();
    return 0;
  }
  bytes again;
  if (encode_subscription(s, again)) std::abort();
  // Equal when the input had every number record, in encode order, and m2 0 or 1.
  if (again.size() == size && std::memcmp(again.data(), data, 3) == 0 &&
      std::memcmp(again.data() + 4, data + 4, size - 4) != 0) {
    std::vector<var> v2;
    subscription s2;
    bytes_view b2;
    if (!decode_subscription(again, v2, s2, b2).is_done() || s2.key != s.key) std::abort();
  }
  return 0;
}

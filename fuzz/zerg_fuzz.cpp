// libFuzzer target: the fd-passing (zerg) data decoder. The first byte picks the kind; a decoded
// message re-encodes to the same bytes.
#include <cstdlib>
#include <cstring>

#include "brood/wire/zerg_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  if (size == 0) return 0;
  const auto kind = static_cast<fd_message_kind>(data[0] % 3);
  const bytes_view in(data + 1, size - 1);
  int count = -1;
  const decode_result r = decode_fd_message(in, kind, count);
  if (r.is_bad()) {
    if (!r.error || r.why.empty()) std::abort();
    return 0;
  }
  if (!r.is_done()) {
    if (in.size() >= fd_message_size(kind)) std::abort();
    return 0;
  }
  if (r.consumed != fd_message_size(kind) || count < 0 || count > max_passed_fds) std::abort();
  const fd_message_bytes again = encode_fd_message(kind, count);
  if (std::memcmp(again.data(), in.data(), r.consumed) != 0) std::abort();
  return 0;
}

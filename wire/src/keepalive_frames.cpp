// The kept-alive answer framing (keepalive_frames.hpp).
#include "brood/wire/keepalive_frames.hpp"

#include <algorithm>

namespace brood::wire {
namespace {

void put_u32(bytes& out, std::uint32_t n) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<byte>(n >> (8 * i)));
}

}  // namespace

void append_keepalive_frames(bytes& out, bytes_view answer) {
  constexpr std::size_t max_chunk = 0xffffffffu;
  out.reserve(out.size() + answer.size() + 8);
  while (!answer.empty()) {
    const std::size_t n = std::min(answer.size(), max_chunk);
    put_u32(out, static_cast<std::uint32_t>(n));
    out.insert(out.end(), answer.begin(), answer.begin() + static_cast<std::ptrdiff_t>(n));
    answer = answer.subspan(n);
  }
  put_u32(out, 0);
}

std::size_t keepalive_frame_reader::feed(bytes_view in, bytes_view& payload) noexcept {
  payload = {};
  std::size_t used = 0;
  while (!done_ && used < in.size()) {
    if (chunk_left_ > 0) {
      const std::size_t n = std::min<std::size_t>(chunk_left_, in.size() - used);
      payload = in.subspan(used, n);
      chunk_left_ -= static_cast<std::uint32_t>(n);
      return used + n;
    }
    length_[have_++] = in[used++];
    if (have_ < 4) continue;
    have_ = 0;
    chunk_left_ =
        static_cast<std::uint32_t>(length_[0]) | static_cast<std::uint32_t>(length_[1]) << 8 |
        static_cast<std::uint32_t>(length_[2]) << 16 | static_cast<std::uint32_t>(length_[3]) << 24;
    if (chunk_left_ == 0) done_ = true;
  }
  return used;
}

}  // namespace brood::wire

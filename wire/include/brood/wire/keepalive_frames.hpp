#pragma once
// The kept-alive answer framing between brood's router and a brood node (brood extension,
// docs/protocol.md §6.1). A request carrying the var BROOD_KEEPALIVE=1 is answered with the
// answer's bytes cut in chunks, each `[u32 LE length][length bytes]`, ending with a chunk of
// length 0; the connection then stays open for the next request. Pure: no I/O.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "brood/wire/bytes.hpp"

namespace brood::wire {

// The var a router adds to ask for a framed answer, and its value.
inline constexpr std::string_view keepalive_var = "BROOD_KEEPALIVE";
inline constexpr std::string_view keepalive_value = "1";
// The bytes one var record of keepalive_var=keepalive_value takes in a vars block.
inline constexpr std::size_t keepalive_var_record = 2 + keepalive_var.size() + 2 + 1;

// Appends `answer` as one chunk (none when empty) and the final zero-length chunk.
void append_keepalive_frames(bytes& out, bytes_view answer);

// Reads a framed answer as it arrives, handing back the answer's own bytes.
class keepalive_frame_reader {
 public:
  // Consumes bytes from `in` and points `payload` at the next answer bytes in it (empty when
  // `in` held only framing). Returns how many bytes of `in` were consumed: call again with the
  // rest until all is consumed. Once done() is true, nothing more is consumed (bytes after the
  // final chunk are not part of this answer).
  std::size_t feed(bytes_view in, bytes_view& payload) noexcept;
  // The final zero-length chunk was read.
  bool done() const noexcept { return done_; }
  // Between chunks (no chunk partly read): a connection closing now cut nothing inside a chunk.
  bool at_boundary() const noexcept { return chunk_left_ == 0 && have_ == 0; }
  void reset() noexcept { *this = keepalive_frame_reader(); }

 private:
  std::uint32_t chunk_left_ = 0;
  std::uint8_t length_[4] = {};
  std::uint8_t have_ = 0;  // length bytes read
  bool done_ = false;
};

}  // namespace brood::wire

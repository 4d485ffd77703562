#pragma once
// Private: the bounds-checked reader of [u16 LE len][bytes] fields shared by the vars block and
// the uwsgi array decoders. Allocates only when it reports an error.
#include <cstddef>
#include <string>
#include <string_view>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "le16.hpp"

namespace brood::wire::detail {

class field_reader {
 public:
  explicit field_reader(bytes_view block) noexcept : block_(block) {}

  std::size_t offset() const noexcept { return pos_; }
  bool at_end() const noexcept { return pos_ == block_.size(); }

  // Reads the u16 length field at the current offset. On failure fills `bad` (truncated_length)
  // and returns false. `what` names the field in the message ("key", "value", "item").
  bool read_length(const char* what, std::size_t& len, decode_result& bad) {
    const std::size_t left = block_.size() - pos_;
    if (left < u16_size) {
      bad = decode_result::bad(errc::truncated_length,
                               std::string(what) + " length field at offset " +
                                   std::to_string(pos_) + " truncated (2 bytes needed, " +
                                   std::to_string(left) + " left) in a " + block_desc());
      return false;
    }
    len = load_le16(block_, pos_);
    len_at_ = pos_;
    pos_ += u16_size;
    return true;
  }

  // Takes `len` bytes after the length field just read. On overrun fills `bad` with `overrun`.
  bool read_bytes(const char* what, std::size_t len, errc overrun, std::string_view& field,
                  decode_result& bad) {
    if (len > block_.size() - pos_) {
      bad = decode_result::bad(overrun, std::string(what) + " length " + std::to_string(len) +
                                            " at offset " + std::to_string(len_at_) +
                                            " overruns a " + block_desc());
      return false;
    }
    field = as_chars(block_.subspan(pos_, len));
    pos_ += len;
    return true;
  }

  // Offset of the length field read last.
  std::size_t length_offset() const noexcept { return len_at_; }
  std::string block_desc() const { return std::to_string(block_.size()) + "-byte block"; }

 private:
  bytes_view block_;
  std::size_t pos_ = 0;
  std::size_t len_at_ = 0;
};

}  // namespace brood::wire::detail

#pragma once
// Error model of the wire layer: std::error_code with the "brood.wire" category, plus
// decode_result, the outcome of every incremental decoder.
#include <cstddef>
#include <string>
#include <system_error>

namespace brood::wire {

enum class errc {
  ok = 0,
  size_exceeds_buffer = 1,  // pktsize larger than buffer-size
  zero_key_length,          // vars record with key_len 0
  truncated_length,         // a u16 length field cut off by the end of the block
  key_overrun,              // key bytes run past the end of the block
  value_overrun,            // value bytes run past the end of the block
  item_overrun,             // uwsgi array item runs past the end of the block
  too_many_vars,            // more than limits::max_pairs() records
  field_too_long,           // encoding: a key, value or item longer than 65535
  payload_too_long,         // encoding: a payload longer than 65535
  msgpack_malformed,        // not valid msgpack
  msgpack_truncated,        // msgpack data ends early
  msgpack_trailing,         // bytes left after the msgpack object
  msgpack_too_deep,         // nesting deeper than limits::max_depth
  msgpack_unsupported,      // a msgpack type brood's value cannot hold
  spool_truncated,          // a spool file shorter than its header says
  spool_not_a_task,         // a spool file whose modifier1 is not 17
  spool_bad_checksum,       // a spool file whose brood_checksum is malformed or wrong
  fd_message_bad_code,      // an fd-passing message (zerg) whose code string is wrong
  fd_message_bad_count,     // an fd-passing message announcing a negative or too large count
  fork_bad_request,         // a fork-server request that breaks the protocol (fork_protocol.hpp)
  fork_bad_reply,           // a fork-server reply that breaks the protocol
  subscription_bad,         // a subscription datagram that breaks the protocol
};

const std::error_category& wire_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

enum class decode_status { need_more, bad, done };

// Outcome of a decoder. done: `consumed` bytes made the item. bad: `error` says which rule was
// broken and `why` says what and where (e.g. "key length 65535 at offset 12 overruns a 40-byte
// block"). need_more: feed more bytes and call again. Allocates only on `bad`.
struct decode_result {
  decode_status status = decode_status::need_more;
  std::size_t consumed = 0;
  std::error_code error;
  std::string why;

  static decode_result need_more() { return {}; }
  static decode_result done(std::size_t n) { return {decode_status::done, n, {}, {}}; }
  static decode_result bad(errc e, std::string why) {
    return {decode_status::bad, 0, make_error_code(e), std::move(why)};
  }
  bool is_done() const noexcept { return status == decode_status::done; }
  bool is_bad() const noexcept { return status == decode_status::bad; }
};

}  // namespace brood::wire

template <>
struct std::is_error_code_enum<brood::wire::errc> : std::true_type {};

#include "brood/wire/error.hpp"

namespace brood::wire {
namespace {

class wire_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "brood.wire"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok:
        return "ok";
      case errc::size_exceeds_buffer:
        return "packet size exceeds buffer-size";
      case errc::zero_key_length:
        return "zero key length in vars block";
      case errc::truncated_length:
        return "length field truncated";
      case errc::key_overrun:
        return "key overruns the block";
      case errc::value_overrun:
        return "value overruns the block";
      case errc::item_overrun:
        return "array item overruns the block";
      case errc::too_many_vars:
        return "too many vars (max-vars)";
      case errc::field_too_long:
        return "field longer than 65535 bytes";
      case errc::payload_too_long:
        return "payload longer than 65535 bytes";
      case errc::msgpack_malformed:
        return "malformed msgpack";
      case errc::msgpack_truncated:
        return "truncated msgpack";
      case errc::msgpack_trailing:
        return "trailing bytes after msgpack object";
      case errc::msgpack_too_deep:
        return "msgpack nesting too deep";
      case errc::msgpack_unsupported:
        return "unsupported msgpack type";
      case errc::spool_truncated:
        return "spool file truncated";
      case errc::spool_not_a_task:
        return "not a spool task (modifier1 is not 17)";
      case errc::spool_bad_checksum:
        return "spool file checksum malformed or wrong";
      case errc::fd_message_bad_code:
        return "not the expected fd-passing code";
      case errc::fd_message_bad_count:
        return "fd count out of range";
      case errc::fork_bad_request:
        return "malformed fork-server request";
      case errc::fork_bad_reply:
        return "malformed fork-server reply";
      case errc::subscription_bad:
        return "malformed subscription datagram";
    }
    return "unknown wire error";
  }
};

}  // namespace

const std::error_category& wire_category() noexcept {
  static const wire_category_impl category;
  return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), wire_category()}; }

}  // namespace brood::wire

// libFuzzer target: failure reply bodies. Decoding never fails; an encoded reply decodes back to
// its type and message (cut when too long).
#include <cstdlib>
#include <string_view>

#include "brood/wire/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  const bytes_view in(data, size);
  limits lim;
  lim.buffer_size = limits::max_buffer_size;
  const error_info info = decode_error_reply(in, lim);
  if (info.type.empty() && info.message.empty() && size == 0) std::abort();

  const std::string_view text = as_chars(in);
  const std::size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  bytes reply;
  append_error_reply(reply, text.substr(0, cut), text.substr(cut));
  header h;
  const decode_result r = parse_packet(reply, lim, h);
  if (!r.is_done() || r.consumed != reply.size()) std::abort();
  if (h.modifier1 != to_byte(modifier1::response) ||
      h.modifier2 != to_byte(response_modifier2::failure)) {
    std::abort();
  }
  const error_info back = decode_error_reply(bytes_view(reply).subspan(header_size), lim);
  const std::string_view type = text.substr(0, cut), message = text.substr(cut);
  // Long fields are cut (the type at 1024 bytes, the message to fit the packet), never altered.
  if (!type.starts_with(back.type) || !message.starts_with(back.message)) std::abort();
  if (type.size() <= 1024 && message.size() <= 60000 &&
      (back.type != type || back.message != message)) {
    std::abort();
  }
  return 0;
}

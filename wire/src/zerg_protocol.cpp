#include "brood/wire/zerg_protocol.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace brood::wire {

fd_message_bytes encode_fd_message(fd_message_kind kind, int count) noexcept {
  fd_message_bytes out{};
  const std::string_view code = fd_message_code(kind);
  std::copy(code.begin(), code.end(), out.begin());
  std::memcpy(out.data() + code.size(), &count, sizeof(count));  // native endianness, as uWSGI
  return out;
}

decode_result decode_fd_message(bytes_view buffered, fd_message_kind kind, int& count) {
  const std::string_view code = fd_message_code(kind);
  const std::size_t seen = std::min(buffered.size(), code.size());
  for (std::size_t i = 0; i < seen; ++i) {
    if (buffered[i] != static_cast<byte>(code[i]))
      return decode_result::bad(errc::fd_message_bad_code, "byte " + std::to_string(buffered[i]) +
                                                               " at offset " + std::to_string(i) +
                                                               " is not the code \"" +
                                                               std::string(code) + "\"");
  }
  if (buffered.size() < fd_message_size(kind)) return decode_result::need_more();
  int n = 0;
  std::memcpy(&n, buffered.data() + code.size(), sizeof(n));
  if (n < 0 || n > max_passed_fds)
    return decode_result::bad(errc::fd_message_bad_count,
                              "fd count " + std::to_string(n) + " at offset " +
                                  std::to_string(code.size()) + " is outside 0.." +
                                  std::to_string(max_passed_fds));
  count = n;
  return decode_result::done(fd_message_size(kind));
}

}  // namespace brood::wire

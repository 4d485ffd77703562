#pragma once
// The data part of uWSGI's fd-passing messages (docs/protocol.md §12.2, docs/uwsgi-compat.md §6):
// a zerg server answers each connection with one message whose data is an ASCII code ("uwsgi-zerg",
// 10 bytes, no NUL) followed by a native-endian int, the number of fds, and whose control data is
// one SCM_RIGHTS array with those fds. The emperor proxy and setns use the same shape with their
// own codes. Pure: the fds themselves travel through brood::os (fd_passing.hpp).
#include <array>
#include <cstddef>
#include <string_view>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"

namespace brood::wire {

// Which fd-passing message: each has its own code string.
enum class fd_message_kind {
  zerg,           // "uwsgi-zerg": a zerg server's listening sockets
  emperor_proxy,  // "uwsgi-emperor": the emperor proxy (not served by brood)
  setns,          // "uwsgi-setns": setns namespaces (not served by brood)
};

// The code string of `kind`, without NUL.
constexpr std::string_view fd_message_code(fd_message_kind kind) noexcept {
  switch (kind) {
    case fd_message_kind::zerg:
      return "uwsgi-zerg";
    case fd_message_kind::emperor_proxy:
      return "uwsgi-emperor";
    case fd_message_kind::setns:
      return "uwsgi-setns";
  }
  return {};
}

// Size of the whole data part: code + a native int.
constexpr std::size_t fd_message_size(fd_message_kind kind) noexcept {
  return fd_message_code(kind).size() + sizeof(int);
}

// The most fds one message can carry on Linux (the kernel's SCM_MAX_FD); a larger count is bad.
inline constexpr int max_passed_fds = 253;

// Room for the longest data part (the emperor proxy's 13 + 4 bytes).
inline constexpr std::size_t max_fd_message_size = 17;
using fd_message_bytes = std::array<byte, max_fd_message_size>;

// The data part announcing `count` fds, in its first fd_message_size(kind) bytes.
// REQUIRES: 0 <= count <= max_passed_fds.
fd_message_bytes encode_fd_message(fd_message_kind kind, int count) noexcept;

// Incremental decoder of the data part at the front of `buffered`.
// need_more: a prefix of the code so far, or the count incomplete. bad: a byte that differs from
// the code (fd_message_bad_code, with the offset), or a count below 0 or above max_passed_fds
// (fd_message_bad_count). done: consumed == fd_message_size(kind) and `count` holds the count;
// bytes past it are the caller's.
decode_result decode_fd_message(bytes_view buffered, fd_message_kind kind, int& count);

}  // namespace brood::wire

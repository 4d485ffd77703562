#pragma once
// Passing fds over unix sockets (SCM_RIGHTS), one message at a time: the zerg server sends its
// listening sockets, a zerg receives them (docs/uwsgi-compat.md §6). Plain functions over a
// caller's socket; thread-safe as the socket calls they make.
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {

// Sends `data` and `fds` (one SCM_RIGHTS control message; none when empty) in one sendmsg on the
// unix socket `socket`, without SIGPIPE. Does not wait: on a non-blocking socket that cannot take
// it at once, fails with EAGAIN. A partial send of `data` is an error (EMSGSIZE).
// REQUIRES: fds.size() <= 253 (SCM_MAX_FD); data not empty.
// Errors: "cannot send N fds: <strerror>".
status send_with_fds(int socket, std::string_view data, std::span<const int> fds);

// One message received by receive_with_fds.
struct received_fds {
  std::size_t size = 0;        // data bytes in the caller's buffer (0: the peer closed)
  std::vector<unique_fd> fds;  // the fds that came with it, close-on-exec
  bool fds_truncated = false;  // more fds came than there was room for: all of them were closed
};

// Receives one message on the unix socket `socket` into `buffer`, with room for `max_fds` fds
// (MSG_CMSG_CLOEXEC: they arrive close-on-exec). Blocks as the socket does. When the control data
// was cut (MSG_CTRUNC: more fds than room), every fd that did arrive is closed and the result says
// fds_truncated, with the data as it came (the sender's count, so the caller can ask again with
// more room). Errors: "cannot receive fds: <strerror>" (EAGAIN on an empty non-blocking socket).
result<received_fds> receive_with_fds(int socket, std::span<char> buffer, std::size_t max_fds);

}  // namespace brood::os

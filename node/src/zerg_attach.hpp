#pragma once
// A zerg's side of zerg mode (`zerg = PATH`, docs/uwsgi-compat.md §6): take the listening sockets
// of a zerg server instead of binding them.
#include <chrono>
#include <string>
#include <vector>

#include "brood/os/listener.hpp"
#include "brood/os/status.hpp"

namespace brood::node {

// Connects to the zerg server at the unix path `path` and receives its listening sockets, each
// described from getsockname (os::adopt_socket). As uWSGI: room for 8 fds first; when more are
// announced, it connects again with room for the announced count. Connecting and each receive are
// bounded by `timeout`. Errors, all "cannot attach to the zerg server PATH: ...": the connect or
// receive failed (its errno; ETIMEDOUT/EAGAIN on timeout), the server closed without sending (as
// it does for a uid it refuses: ECONNREFUSED), bad framing (EPROTO, with the decoder's why), a
// count that does not match the fds that came, a socket that is not a listening one (EINVAL).
os::result<std::vector<os::bound_socket>> attach_zerg(
    const std::string& path, std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace brood::node

#pragma once
// The emperor's side of the fork-server protocol (docs/uwsgi-compat.md §17.2, wire/
// fork_protocol.hpp): one request on a new connection to a base vassal's unix socket, one pid
// reply. Internal to the emperor module; used by os_launcher::adopt.
#include <sys/types.h>

#include <chrono>
#include <span>
#include <string>

#include "brood/emperor/launcher.hpp"
#include "brood/wire/fork_protocol.hpp"

namespace brood::emperor {

// The request for `spec` (argv; stdin_fd as the on-demand socket; `sockets` inherited sockets;
// the environment changes only when spec.set is non-empty: spec.unset names, then spec.set).
wire::fork_request fork_request_of(const launch_spec& spec, int sockets);

// True when `fd` is a unix socket bound to `path` (the fork server's own socket, which an adopted
// vassal may still hold: never passed on as an inherited socket).
bool is_unix_socket_at(int fd, const std::string& path);

// Connects to `path` (at most `timeout` for the connection, the send and the reply each), sends
// `request` with `fds` (SCM_RIGHTS on the first sendmsg, in the request's order) and reads the
// reply. The pid (> 0), or -1 with `error` set: the reason in one line, naming the path, and
// `timed_out` when a wait ran out.
pid_t request_fork(const std::string& path, const wire::fork_request& request,
                   std::span<const int> fds, std::chrono::milliseconds timeout, std::string& error,
                   bool& timed_out);

}  // namespace brood::emperor

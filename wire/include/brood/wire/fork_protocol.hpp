#pragma once
// The fork-server request and reply (docs/protocol.md §13; uWSGI's [master] fork server, facts
// §9). The emperor connects to a base vassal's UNIX socket and sends one request:
//   header   modifier1 35, pktsize = body length, modifier2 = the fd bitmask below
//   body     a uwsgi array (array.hpp) with the vassal's full argv (argv[0] included)
//   fds      SCM_RIGHTS on the first sendmsg, in order: the emperor channel (always), the config
//            pipe (0x02), the on-demand socket (0x04), then brood's inherited sockets (0x08)
// and the base forks twice; the grandchild (the adopted vassal) answers with one packet
//   header   modifier1 35, pktsize = body length, modifier2 0
//   body     a vars block (vars.hpp) with one pair: "pid" = the decimal pid
// and closes the connection.
//
// brood extensions, never set by brood for a request uWSGI could send (so a plain adopted vassal's
// request is byte for byte uWSGI's):
//   0x08  inherited listening sockets: every fd after the standard ones is a listening socket the
//         new vassal serves instead of binding the same address again (a rolling re-fork).
//   0x10  environment: the body's first item is the decimal count N of argv items; N argv items
//         follow, then the environment changes in order: "K=V" sets K, "K" (no '=') unsets it.
// Pure: the fds themselves travel through brood::os (fd_passing.hpp).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "brood/wire/bytes.hpp"
#include "brood/wire/error.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/limits.hpp"

namespace brood::wire {

inline constexpr std::uint8_t fork_modifier1 = 35;

// modifier2 bits of a request.
inline constexpr std::uint8_t fork_emperor_fd = 0x01;    // always set
inline constexpr std::uint8_t fork_config_fd = 0x02;     // the config pipe follows
inline constexpr std::uint8_t fork_on_demand_fd = 0x04;  // the on-demand socket follows
inline constexpr std::uint8_t fork_sockets = 0x08;       // brood: inherited listening sockets
inline constexpr std::uint8_t fork_environment = 0x10;   // brood: environment changes in the body
inline constexpr std::uint8_t fork_known_bits = 0x1f;

// The most fds one request may carry: 3 standard ones and up to 13 inherited sockets.
inline constexpr int max_fork_fds = 16;

struct fork_request {
  std::vector<std::string> argv;  // never empty
  bool config_fd = false;         // 0x02
  bool on_demand_fd = false;      // 0x04
  int sockets = 0;                // 0x08 when > 0: the number of inherited sockets
  std::vector<std::string> env;   // 0x10 when non-empty: "K=V" or "K", applied in order

  std::uint8_t bitmask() const noexcept;
  // The fds the request carries: 1 + config + on-demand + sockets.
  int fd_count() const noexcept;
  friend bool operator==(const fork_request&, const fork_request&) = default;
};

// The request's bytes (header + body). Errors: payload_too_long (body over 65535 bytes),
// field_too_long (an item over 65535), fork_bad_request (empty argv, sockets < 0, more than
// max_fork_fds fds, an env entry that is empty or starts with '='); `out` unchanged then.
std::error_code encode_fork_request(const fork_request& r, bytes& out);

// Checks a request header read from the socket: modifier1 35 and only known modifier2 bits with
// 0x01 set. bad (fork_bad_request) says which byte is wrong.
decode_result check_fork_header(const header& h);

// Decodes a complete body of a header that passed check_fork_header, received with `fds` fds.
// bad (fork_bad_request): the fd count does not match the bitmask (with 0x08: fewer than the
// standard ones + 1, or more than max_fork_fds), an empty argv, a malformed array, a count item
// that is not a decimal within the items, or a malformed env entry. done: consumed == body.size().
decode_result decode_fork_request(const header& h, bytes_view body, int fds, const limits& lim,
                                  fork_request& out);

// The reply: [35, len, 0] + vars {"pid": decimal}.
bytes encode_fork_reply(pid_t pid);

// Incremental decoder of the reply at the front of `buffered`. need_more: header or body
// incomplete. bad (fork_bad_reply): modifier1 not 35, a malformed vars block, no "pid" var, or a
// pid that is not a decimal integer. done: `pid` holds the value (may be <= 0: the caller
// ignores those, as uWSGI's emperor does).
decode_result decode_fork_reply(bytes_view buffered, const limits& lim, long long& pid);

}  // namespace brood::wire

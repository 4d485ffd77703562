#pragma once
// The emperor <-> vassal control channel, byte for byte as uWSGI 2.0 (docs/protocol.md §11).
// The emperor makes a socketpair(AF_UNIX, SOCK_STREAM) per vassal, keeps one end and passes the
// other to the vassal as the number in the environment variable UWSGI_EMPEROR_FD. Every message
// is one byte, in either direction; there is no framing and no reply. EOF on either end means the
// peer is gone: the vassal stops (exit status 1), the emperor treats the vassal as dead.
// Used by the node (the vassal side) and the emperor.
#include <cstdint>

namespace brood::wire {

// The environment variable that carries the vassal's end of the channel (a decimal fd).
inline constexpr const char* emperor_fd_env = "UWSGI_EMPEROR_FD";

// Vassal -> emperor.
enum class vassal_message : std::uint8_t {
  ready = 1,           // master: all workers spawned; again after each completed reload
  config_request = 2,  // master on reload, only with a pushed config (UWSGI_EMPEROR_FD_CONFIG)
  accepting = 5,       // worker 1, when it starts accepting
  loyal = 17,          // a worker after the first completed request, once per node lifetime
  idle = 22,           // master on die-on-idle: stop me (or back to on-demand)
  heartbeat = 26,      // each worker every `heartbeat` seconds while alive
  sos = 30,            // broodlord: the vassal asks for a zerg
};

// Emperor -> vassal (read by the vassal's master).
enum class emperor_command : std::uint8_t {
  stop = 0,             // stop at once (brutal: SIGKILL the workers)
  reload = 1,           // graceful reload; the listening sockets stay open
  stop_gracefully = 2,  // graceful stop (as SIGTERM); sent with emperor-graceful-shutdown
  // brood: a successor (a rolling re-fork from a fork server) already serves this vassal's
  // listening sockets: stop gracefully and leave its UNIX socket files in place. Only sent to
  // adopted brood vassals.
  hand_over = 3,
};

constexpr std::uint8_t to_byte(vassal_message m) noexcept { return static_cast<std::uint8_t>(m); }
constexpr std::uint8_t to_byte(emperor_command c) noexcept { return static_cast<std::uint8_t>(c); }

}  // namespace brood::wire

#pragma once
// The legion options in uWSGI's shape (docs/config.md "Legion"), parsed from their option values.
// Pure: no I/O. Every parse function returns an empty string on success or one line naming the
// option and what was wrong ("legion: VALOR 'x' is not a number").
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace brood::legion {

using milliseconds = std::chrono::milliseconds;

// Where a member speaks: "host:port" (TCP over ZeroMQ). host is an IPv4/IPv6 literal or a name.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const;  // "host:port" ("[v6]:port" for IPv6)
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

// The events of uWSGI's legion hooks (`legion-lord`, `legion-unlord`, ...).
enum class hook_event { lord, unlord, setup, death, join, node_joined, node_left };
const char* hook_event_name(hook_event e) noexcept;  // "lord", ..., "node-joined", "node-left"

// One hook action: "cmd:ARG" (run by /bin/sh -c), "exec:ARG" (the same, uWSGI's alias),
// "log:ARG" (a log line) or "signal:N" (the uwsgi signal N raised in the node; an emperor logs it).
struct hook_action {
  enum class kind { cmd, exec, log, signal } what = kind::log;
  std::string arg;
};

// Timing shared by every legion of a process. uWSGI's `legion-freq`/`legion-tolerance` (seconds)
// map onto heartbeat/lease when given; brood's `legion-heartbeat`/`legion-lease` (ms) win.
struct timing {
  milliseconds heartbeat{100};         // a member announces itself (and a lord renews) this often
  milliseconds lease{400};             // a grant lasts this long after its last renewal
  milliseconds skew_tolerance{60000};  // messages stamped further from our clock are dropped
  // `legion-vassal-lease`: how long a member may run its placed vassals after the report the
  // lord acked (emperor = legion:NAME,DIR; docs/legion.md "Placement").
  milliseconds vassal_lease{3000};
};

// One `legion = NAME ADDR VALOR SECRET` plus everything attached to NAME by the other options.
struct legion_config {
  std::string name;
  endpoint address;             // where this member binds its ZeroMQ socket
  std::int64_t valor = 0;       // 0: an arbiter (votes, never leads)
  std::string secret;           // the SECRET field as written ("aes-128-cbc:s3cr3t" or "s3cr3t")
  std::vector<endpoint> nodes;  // `legion-node`: the other members (self may be listed too)
  std::optional<std::size_t> quorum;  // `legion-quorum`; default: majority of members()
  std::string scroll;                 // `legion-scroll`
  std::map<hook_event, std::vector<hook_action>> hooks;
  std::vector<std::string> attach_daemons;  // `legion-attach-daemon` commands (run while lord)
  std::string etcd_endpoints;  // `legion-etcd`: "http://h:p[,http://h:p]"; empty = ZeroMQ

  // The configured members: `address` plus `nodes`, duplicates removed, in a stable order.
  std::vector<endpoint> members() const;
  // quorum if set, else members().size() / 2 + 1.
  std::size_t effective_quorum() const;
};

// Every legion of one process, keyed by name, and the shared timing.
struct config {
  std::vector<legion_config> legions;
  timing times;
  std::size_t scroll_max_size = 4096;
  std::size_t scroll_list_max_size = 32768;
  std::uint32_t max_vassals =
      0;  // `legion-max-vassals`: this member's placement capacity (0: no limit)
  // `legion-vassal-nice`: placed vassals run at the emperor's nice value plus this (0..19), so
  // that their starts never starve the legion's threads (the election and the fence).
  int vassal_nice = 10;
  legion_config* find(const std::string& name);
};

// Option parsers: each applies one option value to `c`. `legion` creates the legion; the others
// name an existing legion first ("NAME ...") and fail when it is unknown, whatever the order of
// the options in the file (the CLI applies `legion` lines first).
std::string parse_endpoint(const std::string& text, endpoint& out);
std::string apply_legion(config& c, const std::string& value);         // NAME ADDR VALOR SECRET
std::string apply_legion_node(config& c, const std::string& value);    // NAME ADDR
std::string apply_legion_quorum(config& c, const std::string& value);  // NAME N
std::string apply_legion_scroll(config& c, const std::string& value);  // NAME TEXT
std::string apply_legion_hook(config& c, hook_event e, const std::string& value);  // NAME ACTION
std::string apply_legion_attach_daemon(config& c, const std::string& value);       // NAME CMD
// "NAME ENDPOINTS" for one legion, or "ENDPOINTS" alone for every legion of the process.
std::string apply_legion_etcd(config& c, const std::string& value);
// Checks what only the whole set can tell (quorum larger than the members, two legions on one
// address, heartbeat >= lease / 2).
std::string validate(const config& c);

}  // namespace brood::legion

#pragma once
// The subscription client's options (docs/config.md "Subscriptions", docs/uwsgi-compat.md §10):
// every `subscribe-to` / `subscribe2` value is one target; the master announces the node to each
// target's router (modifier1 224 datagrams, docs/protocol.md §12.4) at its start, one second
// later, then every `subscribe-freq` seconds, and withdraws it when it stops.
// Filled by the CLI (cli/src/subscription_options.cpp); any target implies the master.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brood::node {

struct subscription_target {
  std::string origin;  // the option's value, for log lines
  std::string server;  // the router: "host:port" (UDP) or a unix datagram socket path
  // The routing key; "@FILE" sends one datagram per line of FILE (`key[,modifier1]`, blank lines
  // and lines starting with '#' skipped), read at each round.
  std::string key;
  // The address announced: `addr` as given, else the node's socket named by `socket_name`
  // (subscribe-to's `NAME=` prefix: the bound address of the configured socket NAME, else NAME
  // as given), else the node's socket number `socket` (0-based), else its first socket.
  std::string addr;
  std::string socket_name;
  std::optional<std::size_t> socket;
  std::optional<std::uint64_t> weight;    // subscribe2 weight=: overrides the node's
  std::optional<std::uint8_t> modifier1;  // else subscribe-with-modifier1, else 0
  std::uint8_t modifier2 = 0;
  std::string sign;   // "<digest>:<PEM private key file>": RSA-signed datagrams
  std::string check;  // subscribe2 check=FILE: no datagram while FILE exists
  std::string sni_key, sni_crt, sni_ca;
  // subscribe2 keepalive=1 (brood extension, docs/protocol.md §6.1): the datagrams carry
  // keepalive=1, so that brood's router sends this node its WSGI requests on kept connections.
  bool keepalive = false;

  friend bool operator==(const subscription_target&, const subscription_target&) = default;
};

struct subscription_config {
  std::vector<subscription_target> targets;    // subscribe-to, subscribe, st, subscribe2
  std::chrono::seconds freq{10};               // subscribe-freq
  std::uint64_t weight = 0;                    // weight (0 is taken as 1 by the routers)
  bool auto_weight = false;                    // auto-weight: weight = processes * threads
  std::optional<std::uint8_t> with_modifier1;  // subscribe-with-modifier1
  bool start_unsubscribed = false;             // start-unsubscribed: blocked until FIFO S
  std::string notify_socket;                   // subscription-notify-socket: sent as `notify`
  bool unsubscribe_on_graceful_reload = false;

  bool any() const noexcept { return !targets.empty(); }
};

// `[NAME=]SERVER:KEY[,MODIFIER1[,SIGN]]` or `=N=SERVER:KEY[,...]` (socket number N). SERVER is
// "host:port" (the key follows its second ':') or a unix path starting with '/' or '.' (the key
// follows the first ':'). Throws std::invalid_argument naming what is wrong.
subscription_target parse_subscribe_to(std::string_view value);

// `server=..,key=..[,socket=N][,addr=..][,weight=N][,modifier1=N][,modifier2=N][,sign=..]
// [,check=FILE][,sni_key=..][,sni_crt=..][,sni_ca=..][,keepalive=0|1]`. server and key are
// required; an unknown or repeated name, or a bad number, is refused. Throws std::invalid_argument
// naming it.
subscription_target parse_subscribe2(std::string_view value);

// The keys of an "@FILE" key list's text: (key, modifier1) per line, as described above.
// Throws std::invalid_argument for a bad modifier1 (naming the line).
std::vector<std::pair<std::string, std::optional<std::uint8_t>>> parse_key_list(
    std::string_view text);

}  // namespace brood::node

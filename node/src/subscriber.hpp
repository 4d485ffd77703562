#pragma once
// The subscription client of a node (docs/uwsgi-compat.md §10): one round sends one datagram
// (modifier1 224, docs/protocol.md §12.4) per target of subscribe-to / subscribe2 (per key of an
// "@FILE" key list), announcing the node (m2 0) or withdrawing it (m2 1). Where the datagrams go
// is behind datagram_out, so tests record them; os_datagram_out sends them (UDP or unix
// datagram). When to send is master_core's (master_core_subscribe.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brood/node/subscription_config.hpp"
#include "brood/wire/bytes.hpp"
#include "subscription_sign.hpp"

namespace brood::node {

class datagram_out {
 public:
  virtual ~datagram_out() = default;
  // Sends `packet` to `server` ("host:port": UDP; else a unix datagram socket path). Returns ""
  // or what went wrong (the caller logs it).
  virtual std::string send_to(const std::string& server, wire::bytes_view packet) = 0;
};

// Real datagrams: one non-blocking socket per family, opened at first use; a full socket
// buffer drops the datagram (as uWSGI: the next round sends it again).
class os_datagram_out : public datagram_out {
 public:
  os_datagram_out() = default;
  ~os_datagram_out() override;
  os_datagram_out(const os_datagram_out&) = delete;
  os_datagram_out& operator=(const os_datagram_out&) = delete;
  std::string send_to(const std::string& server, wire::bytes_view packet) override;

 private:
  int udp4_ = -1, udp6_ = -1, unix_ = -1;
};

// What the datagrams say about the node.
struct subscriber_node {
  std::vector<std::string> configured;  // the socket options as given (NAME= looks them up)
  std::vector<std::string> bound;       // the same sockets as bound (port 0: the port got)
  std::uint64_t cores = 1;              // processes * threads
};

class subscriber {
 public:
  // Loads the sign keys. Throws std::invalid_argument naming the target and the fault (a key
  // that cannot be loaded, a socket number or name the node does not have, no socket at all
  // for a target without addr).
  subscriber(const subscription_config& cfg, subscriber_node node, datagram_out& out);
  ~subscriber();
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  // One round. `load`: the listen queue now; `unix_now`: wall-clock seconds (signed datagrams
  // carry it as `unix`). Logs each target the first time it is sent and after a failure, and
  // each failure once until the target works again. Returns the number of datagrams sent.
  std::size_t round(bool unsubscribe, std::uint64_t load, std::int64_t unix_now);

  // The targets as the stats JSON shows them: server, key and address.
  struct view {
    std::string server, key, address;
  };
  std::vector<view> targets() const;

 private:
  struct target;
  bool send_one(target& t, const std::string& key, std::uint8_t m1, bool unsubscribe,
                std::uint64_t load, std::int64_t unix_now);
  const subscription_config& cfg_;
  subscriber_node node_;
  datagram_out& out_;
  std::vector<std::unique_ptr<target>> targets_;
  wire::bytes packet_;
};

}  // namespace brood::node

#pragma once
// The sockets of one ZeroMQ member: a ROUTER bound at its address (every other member's DEALER,
// and `brood legion` queries, connect to it) and one DEALER per other member (ZMQ_IMMEDIATE:
// a message is queued only on a live connection, so a send to an unreachable member is dropped
// at once; small HWM; LINGER 0). A socket monitor on each DEALER reports its connection closing
// (the peer's process is gone, or the link broke). Not thread-safe: the legion's thread owns it.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brood/legion/config.hpp"

namespace brood::legion {

struct inbound_frame {
  std::string routing_id;  // the ROUTER's id of the sending connection (for a reply)
  bool delimiter = false;  // the sender put an empty frame first (a REQ-style envelope)
  std::string peer;        // the sender's IP address, or "unknown"
  std::vector<std::uint8_t> body;
};

class zmq_transport {
 public:
  // Binds the ROUTER at `self` and connects one DEALER to each of `peers` (self excluded).
  // nullptr and `error` = "cannot bind HOST:PORT: <zmq error>" (or the connect's) on failure.
  static std::unique_ptr<zmq_transport> open(const endpoint& self,
                                             const std::vector<endpoint>& peers,
                                             std::string& error);
  ~zmq_transport();

  // To the member at `to` (endpoint::text()), or to every other member when `to` is empty;
  // never blocks: dropped (false) when that connection is not up or its queue is full.
  bool send(const std::string& to, const std::vector<std::uint8_t>& frame);
  // The answer to a frame the ROUTER received (a query), on the same connection.
  void reply(const inbound_frame& to, const std::vector<std::uint8_t>& frame);

  // Waits up to `timeout` (0: no wait) for a frame, a connection event or `wake_fd` readable
  // (drained), then takes everything pending: frames into `in`, the members whose DEALER
  // connection closed into `lost` (addresses as endpoint::text()).
  void poll(std::chrono::milliseconds timeout, int wake_fd, std::vector<inbound_frame>& in,
            std::vector<std::string>& lost);

  // Lets pending messages (resign, dead) leave for up to `t` when the sockets close.
  void linger_on_close(std::chrono::milliseconds t);

 private:
  struct impl;
  explicit zmq_transport(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// "tcp://host:port" ("tcp://[v6]:port").
std::string zmq_address(const endpoint& e);

}  // namespace brood::legion

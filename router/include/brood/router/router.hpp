#pragma once
// The router process (docs/architecture.md "The router"): binds the fastrouter sockets, the
// subscription servers and the stats server, and serves them on one event loop (Asio's
// io_context: epoll on Linux; nothing blocks but the first resolution of a node's host name).
#include <memory>
#include <string>
#include <vector>

#include "brood/os/asio.hpp"
#include "brood/os/status.hpp"
#include "brood/router/config.hpp"
#include "brood/router/table.hpp"

namespace brood::router {

class core;

// One router on a caller's io_context. Not thread-safe: run the io_context on one thread.
class router_server {
 public:
  // Binds everything in `cfg` (sockets of port 0 get a port: see addresses()). Errors: a socket
  // that cannot be bound, a bad sign-check spec; the message names the option and address.
  static os::result<std::unique_ptr<router_server>> open(const router_config& cfg,
                                                         asio::io_context& io);
  ~router_server();

  // As bound: fastrouter sockets, subscription servers, stats ("" when none).
  const std::vector<std::string>& socket_names() const noexcept;
  const std::vector<std::string>& subscription_names() const noexcept;
  const std::string& stats_name() const noexcept;

  // The table, for tests and the stats (from the io_context's thread only).
  const table& subscriptions() const noexcept;
  // Sessions open right now.
  std::size_t active_sessions() const noexcept;
  // Stops accepting and closes the servers' sockets; sessions in flight end on their own.
  void close();

 private:
  explicit router_server(std::unique_ptr<core> c);
  std::unique_ptr<core> core_;
};

// `brood --fastrouter ...`: runs the router in this process until SIGINT/SIGTERM/SIGQUIT.
// Returns the exit status (0, or 1 when a socket cannot be bound).
int run_router(const router_config& cfg);

}  // namespace brood::router

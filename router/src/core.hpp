#pragma once
// The state one router shares between its sessions and servers (private to brood::router).
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "brood/os/asio.hpp"
#include "brood/os/socket_address.hpp"
#include "brood/router/config.hpp"
#include "brood/router/sign_check.hpp"
#include "brood/router/table.hpp"
#include "event_loop.hpp"

namespace brood::router {

using stream = asio::generic::stream_protocol;
using datagram = asio::generic::datagram_protocol;

// At most `per_second` log lines a second for one kind of trouble (bad datagrams, unknown keys):
// the rest are counted and the count is told with the next line logged.
class rate_limited_log {
 public:
  explicit rate_limited_log(unsigned per_second = 10) : per_second_(per_second) {}
  void log(const std::string& line);

 private:
  unsigned per_second_;
  std::chrono::steady_clock::time_point window_{};
  unsigned in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

class core;
class session;
class upstream;

// A listening socket of the data path, in the event loop: accepts until EAGAIN.
class listener final : public fd_handler {
 public:
  listener(core& c, int fd) : c_(c), fd_(fd) {}
  ~listener();
  void on_events(std::uint32_t events) override;
  void close();
  int fd() const noexcept { return fd_; }

 private:
  core& c_;
  int fd_;
};

class core {
 public:
  core(const router_config& cfg, asio::io_context& io);
  ~core();

  // The endpoint of a node's address (resolved once, then cached). nullopt + log when it does not
  // parse or resolve.
  std::optional<stream::endpoint> endpoint_of(const std::string& address);
  // The next static node (fastrouter-to), round-robin; nullptr when there are none.
  const std::string* next_static_node();
  // Starts a session for an accepted client socket (non-blocking).
  void accepted(int fd);
  // The session ended: deleted after the batch.
  void retire(session& s);
  // An idle kept connection to `address`, or null.
  std::unique_ptr<upstream> take_idle(const std::string& address);
  // Keeps `u` for the next request to its node (closes it when the pool is full).
  void keep_idle(std::unique_ptr<upstream> u);
  // An idle connection closed by its node (or misbehaving): dropped.
  void drop_idle(upstream& u);
  // Once a second: sessions idle past the timeout end, kept connections idle past it close.
  void start_sweep();

  router_config cfg;
  asio::io_context& io;
  table subscriptions;
  std::optional<sign_check> signer;
  event_loop loop;
  std::vector<std::unique_ptr<listener>> listeners;
  std::list<std::unique_ptr<session>> sessions;
  // Idle kept connections per node address (brood nodes with keepalive=1), oldest first.
  std::unordered_map<std::string, std::vector<std::unique_ptr<upstream>>> idle;
  std::size_t idle_count = 0;
  static constexpr std::size_t idle_per_node = 64;
  std::uint64_t upstream_connects = 0, upstream_reuses = 0;    // stats
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // false once destroyed
  std::vector<std::unique_ptr<datagram::socket>> subscription_sockets;
  std::unique_ptr<asio::basic_socket_acceptor<stream>> stats_acceptor;
  std::vector<std::string> socket_names, subscription_names;
  std::string stats_name;
  std::size_t active_sessions = 0;
  std::uint64_t static_next = 0;
  rate_limited_log bad_datagram_log, no_node_log, bad_request_log;
  bool closed = false;
  // Signed mode: the last "unix" accepted per key and address, kept after the node leaves the
  // table so that a replayed datagram cannot bring it back (at most 65536 pairs: then forgotten).
  std::unordered_map<std::string, std::uint64_t> last_unix;

 private:
  void sweep();
  std::unordered_map<std::string, stream::endpoint> endpoints_;
  asio::steady_timer sweep_timer_;
};

// Starts serving: accept loops, subscription receive loops, the stats server.
void start_accepting(core& c);
void start_subscription_server(core& c, datagram::socket& s);
void start_stats_server(core& c);
// Handles one datagram (decode, sign check, table update, log line). Exposed for tests.
void handle_datagram(core& c, wire::bytes_view datagram);
// The stats JSON document (uWSGI's fastrouter stats keys).
std::string stats_json(const core& c);

}  // namespace brood::router

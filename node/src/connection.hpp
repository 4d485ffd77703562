#pragma once
// One accepted client connection of a worker: reads packets, answers them with the router, keeps
// the connection alive between framed replies. Private to the node module.
//
// Deadlines (one timer per connection): a request must arrive completely within socket-timeout
// of its first byte, a reply must be taken within socket-timeout, an idle kept-alive connection
// is closed after keepalive-timeout (a fresh one after socket-timeout). Thread-safety: every
// member runs on the worker's io_context thread.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "brood/node/asio.hpp"
#include "brood/node/config.hpp"
#include "brood/node/router.hpp"
#include "brood/wire/vars.hpp"

namespace brood::node::detail {

class connection;

// What a connection tells its owner (the worker). Called on the io_context thread.
class connection_owner {
 public:
  // `c` is closed; the owner drops its reference. Called once per connection.
  virtual void connection_closed(connection& c) = 0;
  // A reply was written completely.
  virtual void request_done() = 0;

 protected:
  ~connection_owner() = default;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = asio::generic::stream_protocol::socket;

  // `peer` is what handlers see as request::peer. `r`, `cfg` and `owner` must outlive every
  // handler of this connection that can still run (the owner stops it before it goes away).
  // `tcp`: TCP_NODELAY is set once the connection is kept alive for a second request (a one-shot
  // connection writes a single reply, which Nagle never holds back).
  connection(socket_type socket, std::string peer, const router& r, const node_config& cfg,
             connection_owner& owner, bool tcp);

  // Starts reading. REQUIRES: called once, the connection held by a shared_ptr.
  void start();
  // Closes it now if idle; otherwise the request in progress is answered first (or runs out of
  // socket-timeout), then it closes.
  void stop_gracefully();
  // Closes the socket now; pending operations end with operation_aborted.
  void stop_now();

 private:
  using clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;
  enum class phase { idle, reading, writing, draining, closed };

  void read_more();
  void on_read(const error_code& ec, std::size_t n);
  void process();
  bool frame_request(wire::header& head, std::size_t& total);
  bool measure_body(wire::bytes_view payload, std::size_t& body);
  void answer(const wire::header& head, std::size_t total);
  void write(reply r);
  void on_written(const error_code& ec);
  void refuse(std::string why);
  void become_idle();
  void drain();
  void make_room(std::size_t need);
  void arm_timer();
  void on_timer(const error_code& ec);
  void on_deadline();
  void close();

  socket_type socket_;
  asio::steady_timer timer_;
  std::string peer_;
  const router& router_;
  const node_config& cfg_;
  connection_owner& owner_;
  clock::duration timer_step_;  // the timer never sleeps longer, so deadlines only move later
  clock::time_point deadline_;
  const std::size_t normal_size_;  // buf_ size between requests; grown for larger ones
  phase phase_ = phase::idle;
  bool stopping_ = false;
  bool answered_any_ = false;  // a request was answered on this connection
  bool tcp_ = false;
  wire::bytes buf_;  // received bytes: [begin_, end_) not yet consumed
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t expected_ = 0;     // whole size of the request at begin_, once known (0: not yet)
  std::vector<wire::var> vars_;  // scratch for CONTENT_LENGTH lookups
  reply out_;                    // the reply being written
};

}  // namespace brood::node::detail

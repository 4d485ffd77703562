#pragma once
// One accepted client connection of a worker: reads packets, answers them with the router, keeps
// the connection alive between framed replies. Private to the node module.
//
// A fresh connection is served without the reactor first: one read straight from the socket (its
// request is usually in already: TCP_DEFER_ACCEPT), the handler, one write. A one-shot request
// answered that way costs recv, send and close, nothing else. The connection enters the reactor
// (and arms its timer) only when it must wait: the request is incomplete, the reply is not taken
// at once, or it is kept alive after its first reply.
//
// Deadlines (one timer per connection): a request must arrive completely within socket-timeout
// of its first byte, a reply must be taken within socket-timeout, an idle kept-alive connection
// is closed after keepalive-timeout (a fresh one after socket-timeout). A deferred handler's
// request has no deadline while the handler works; its reply then has socket-timeout as usual.
// Thread-safety: every member runs on the worker's io_context thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/router.hpp"
#include "brood/os/asio.hpp"
#include "brood/wire/vars.hpp"

namespace brood::node::detail {

class connection;
struct http_session;  // connection_http.cpp
struct http_socket;   // http_sockets.hpp

// What a connection tells its owner (the worker). Called on the io_context thread.
class connection_owner {
 public:
  // `c` is closed; the owner drops its reference. Called once per connection.
  virtual void connection_closed(connection& c) = 0;
  // A reply was written completely.
  virtual void request_done() = 0;
  // Statistics (the stats scoreboard). A framed request is about to be answered; returns its
  // start, handed back to request_ended.
  virtual std::int64_t request_started() noexcept = 0;
  // That request ended (answered, dropped by its handler, or cut): `tx` reply bytes written;
  // `failure_reply`: its reply is a failure reply; `write_failed`: the reply was not all written.
  virtual void request_ended(std::int64_t start, std::size_t tx, bool failure_reply,
                             bool write_failed) noexcept = 0;
  // A request could not be read: invalid, cut by the peer, or not in within socket-timeout.
  virtual void read_failed() noexcept = 0;
  // The request that just started (after request_started), for the harakiri log line.
  virtual void describe_request(const request& /*rq*/) noexcept {}

 protected:
  ~connection_owner() = default;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = asio::generic::stream_protocol::socket;

  // Takes ownership of `fd`, a connected non-blocking socket of address family `family`.
  // `peer` is what handlers see as request::peer. `r`, `cfg` and `owner` must outlive every
  // handler of this connection that can still run (the owner stops it before it goes away).
  // `tcp`: TCP_NODELAY is set once the connection is kept alive for a second request (a one-shot
  // connection writes a single reply, which Nagle never holds back). `http` (not null): the
  // connection speaks HTTP/1.x (an http-socket, connection_http.cpp), over TLS when http->tls:
  // its requests reach the modifier1 0 handler as uwsgi vars, its deadlines are http-timeout,
  // and it is kept alive per HTTP rules.
  connection(asio::io_context& io, int fd, int family, std::string peer, const router& r,
             const node_config& cfg, connection_owner& owner, bool tcp,
             const http_socket* http = nullptr);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Starts serving: reads and, when the request is in, runs its handler and writes the reply
  // before it returns. REQUIRES: called once, the connection held by a shared_ptr.
  void start();
  // True once the connection is closed (for a one-shot request: answered).
  bool closed() const noexcept { return phase_ == phase::closed; }
  // Closes it now if idle; otherwise the request in progress is answered first (or runs out of
  // socket-timeout), then it closes.
  void stop_gracefully();
  // Closes the socket now; pending operations end with operation_aborted.
  void stop_now();

 private:
  using clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;
  enum class phase { idle, reading, deferred, writing, draining, closed };

  void read_more();
  void read_directly();
  void on_read(const error_code& ec, std::size_t n);
  void process();
  bool frame_request(wire::header& head, std::size_t& total);
  bool measure_body(wire::bytes_view payload, std::size_t& body);
  void answer(const wire::header& head, std::size_t total);
  void defer(const request& rq);
  void on_deferred_reply(std::optional<reply> rep);
  void write(reply r);
  void write_directly();
  void write_rest();
  void on_written(const error_code& ec);
  bool enter_reactor();
  void refuse(std::string why);
  void become_idle();
  void drain();
  void make_room(std::size_t need);
  void arm_timer();
  void on_timer(const error_code& ec);
  void on_deadline();
  void end_request(bool written);
  void close();
  // HTTP sockets (connection_http.cpp).
  bool frame_http();
  void answer_http();
  void refuse_http(int status, const std::string& why);
  void finish_http(reply& r);
  bool decrypt(std::size_t n);
  bool encrypt(reply& r);

  asio::io_context& io_;
  int fd_;  // the connection; owned by socket_ once registered_
  const int family_;
  bool registered_ = false;     // socket_ holds fd_ and the timer runs
  bool read_directly_ = false;  // the one read without the reactor was made
  socket_type socket_;
  asio::steady_timer timer_;
  std::string peer_;
  const router& router_;
  const node_config& cfg_;
  connection_owner& owner_;
  std::unique_ptr<http_session> http_;  // an HTTP connection's decoder; null for uwsgi
  const clock::duration io_timeout_;    // socket-timeout, or http-timeout for HTTP
  const clock::duration idle_timeout_;  // keepalive-timeout, or the HTTP keep-alive timeout
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
  std::size_t written_ = 0;      // bytes of out_ written so far
  bool in_request_ = false;      // a framed request is being answered (stats)
  std::int64_t request_start_ = 0;
};

}  // namespace brood::node::detail

#pragma once
// One client connection of the router (private to brood::router): reads the uwsgi header and
// vars (right after accept: they are usually in already), picks a node by key, sends the request
// to it (retrying on another node while nothing reached the client), then streams both ways with
// backpressure: a side is read only while the other side's pending bytes are below a bound.
//
// Every socket is non-blocking and registered once, edge-triggered (event_loop.hpp); the session
// remembers which directions are known blocked and tries the others at once, so a request that
// needs no waiting costs its reads, writes and closes only. The client socket is registered only
// when the session must wait for it (an incomplete request, a client not taking the answer).
//
// The request forwarded is the header, the vars and CONTENT_LENGTH body bytes; bytes after them
// are not read. To a node that subscribed with keepalive=1 (brood extension, docs/protocol.md
// §6.1) the vars gain BROOD_KEEPALIVE=1, the framed answer is unframed on its way to the client
// (the client sees the same bytes), and the connection goes back to the core's pool.
#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "brood/wire/keepalive_frames.hpp"
#include "core.hpp"
#include "event_loop.hpp"
#include "upstream.hpp"

namespace brood::router {

class session final : public retired {
 public:
  session(core& c, int client_fd);
  ~session() override;
  // Reads what the client sent already and goes on from there.
  void start();
  // Events of the session's upstream connection.
  void on_upstream(upstream& u, std::uint32_t events);
  // Ends the session (timeout, shutdown): both connections closed.
  void finish();
  std::chrono::steady_clock::time_point last_activity;
  std::list<std::unique_ptr<session>>::iterator self;  // in core::sessions

 private:
  static constexpr std::size_t chunk = 16 * 1024;         // one read from either side
  static constexpr std::size_t replay_limit = 64 * 1024;  // request bytes kept for a retry
  static constexpr std::size_t head_read = 4096 + 4;

  struct client_side final : fd_handler {
    session* s = nullptr;
    void on_events(std::uint32_t events) override;
  };

  void on_client(std::uint32_t events);
  bool register_client();
  void read_head();
  void on_head();
  void connect_next();
  // Makes `up` the session's upstream; `go`: pump at once.
  void attach(std::unique_ptr<upstream> up, bool reused, bool go = true);
  void open_upstream(const std::string& address, bool kept);
  void upstream_failed(const char* what, int err);
  // Moves bytes every way that is not known blocked until none moves. The steps below return 1
  // for progress, 0 for none, -1 when the session changed course (finished, or a new upstream
  // that was pumped already).
  void pump();
  int write_upstream();
  int read_client();
  int read_upstream();
  int flush_client();
  void deliver(const std::uint8_t* p, std::size_t n);
  void answer_done();
  bool body_complete() const noexcept { return body_total_ >= content_length_; }

  core& c_;
  int client_ = -1;
  client_side client_handler_;
  bool client_registered_ = false, client_rd_ = true, client_wr_ = true, client_hup_ = false;
  bool client_eof_ = false;
  std::vector<std::uint8_t> head_;  // header + vars as read (then the body bytes that followed)
  std::size_t vars_size_ = 0;
  std::uint64_t content_length_ = 0;
  bool can_keep_ = false;          // the request may go on a kept connection
  std::vector<std::string> keys_;  // lookup order
  node_ref node_;
  std::string node_address_;
  std::uint32_t tries_ = 0;

  std::unique_ptr<upstream> up_;
  bool reused_ = false;  // up_ came from the pool (its failure before answering is no failure)
  bool up_rd_ = false, up_wr_ = false, up_hup_ = false;
  bool nodelay_ = false;
  std::vector<std::uint8_t> prefix_;  // this attempt's header + vars (+ BROOD_KEEPALIVE)
  std::size_t prefix_off_ = 0;
  // Body bytes from the client. While replayable_, all of them from the first; else only those
  // not yet written.
  std::vector<std::uint8_t> body_;
  std::size_t body_off_ = 0;  // of body_, written to the current upstream
  std::uint64_t body_total_ = 0;
  bool replayable_ = true;

  wire::keepalive_frame_reader frames_;
  bool extra_after_frames_ = false;  // the node wrote past its final chunk: not kept
  bool sent_to_client_ = false, answer_complete_ = false, done_ = false;
  std::vector<std::uint8_t> down_;  // answer bytes the client did not take yet
  std::size_t down_off_ = 0;
  std::unique_ptr<std::uint8_t[]> buf_;  // reads from either side
  std::uint64_t rx_ = 0, tx_ = 0;
};

}  // namespace brood::router

// One client connection: framing, dispatch, keep-alive and deadlines.
#include "connection.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "brood/node/log.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/message.hpp"

namespace brood::node::detail {
namespace {

using std::chrono::milliseconds;

long long to_ms(milliseconds d) { return static_cast<long long>(d.count()); }

// CONTENT_LENGTH as uWSGI reads it: the leading decimal digits. nullopt when over `cap`.
std::optional<std::size_t> parse_length(std::string_view text, std::size_t cap) {
  std::size_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') break;
    const auto digit = static_cast<std::size_t>(c - '0');
    if (digit > cap || n > (cap - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

}  // namespace

connection::connection(socket_type socket, std::string peer, const router& r,
                       const node_config& cfg, connection_owner& owner, bool tcp)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      peer_(std::move(peer)),
      router_(r),
      cfg_(cfg),
      owner_(owner),
      timer_step_(std::max<clock::duration>(std::min(cfg.socket_timeout, cfg.keepalive_timeout),
                                            milliseconds(1))),
      normal_size_(std::min<std::size_t>(cfg.limits.buffer_size, 4096) + wire::header_size),
      buf_(normal_size_) {
  tcp_ = tcp;
}

void connection::start() {
  deadline_ = clock::now() + cfg_.socket_timeout;  // a fresh connection must start in time
  arm_timer();
  read_more();
}

// A connection that has not sent its first request yet is kept: its client connected before the
// stop (often while a reload moves the listening socket to new workers) and expects an answer;
// it gets socket-timeout to send the request, then the usual deadline applies.
void connection::stop_gracefully() {
  stopping_ = true;
  if (phase_ == phase::idle && answered_any_) close();
}

void connection::stop_now() { close(); }

void connection::read_more() {
  if (end_ == buf_.size()) make_room(end_ - begin_ + 1);
  socket_.async_read_some(
      asio::buffer(buf_.data() + end_, buf_.size() - end_),
      [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void connection::on_read(const error_code& ec, std::size_t n) {
  if (phase_ == phase::closed) return;
  if (ec) {  // EOF (mid-request or not), reset, abort: nothing left to answer
    close();
    return;
  }
  end_ += n;
  if (phase_ == phase::draining) {  // after a final reply: discard until the peer closes
    begin_ = end_ = 0;
    read_more();
    return;
  }
  process();
}

// Answers the request at begin_ if it is complete, else reads on.
void connection::process() {
  if (begin_ == end_) {
    become_idle();
    return;
  }
  if (phase_ != phase::reading) {  // first byte of a request: it has socket-timeout to arrive
    phase_ = phase::reading;
    deadline_ = clock::now() + cfg_.socket_timeout;
  }
  wire::header head;
  std::size_t total = 0;
  if (frame_request(head, total)) answer(head, total);
}

// True when the whole request at begin_ (header, payload, body) is buffered; `total` is its
// size. Otherwise the request was refused or more bytes are being read.
bool connection::frame_request(wire::header& head, std::size_t& total) {
  const wire::bytes_view in(buf_.data() + begin_, end_ - begin_);
  if (expected_ == 0) {
    const auto res = wire::parse_packet(in, cfg_.limits, head);
    if (res.is_bad()) {
      const auto size = wire::decode_header(in).size;
      log("invalid request block size: ", size, " (max ", cfg_.limits.buffer_size, ")...skip");
      refuse("invalid request block size: " + std::to_string(size) + " (max " +
             std::to_string(cfg_.limits.buffer_size) + ")");
      return false;
    }
    if (!res.is_done()) {
      if (in.size() >= wire::header_size) {  // the size is known: make room for the packet
        make_room(wire::header_size + wire::decode_header(in).size);
      }
      read_more();
      return false;
    }
    std::size_t body = 0;
    if (router_.body_for(head.modifier1) == body_policy::content_length &&
        !measure_body(in.subspan(wire::header_size, head.size), body)) {
      return false;
    }
    expected_ = res.consumed + body;
  } else {
    head = wire::decode_header(in);
  }
  if (in.size() < expected_) {
    make_room(expected_);
    read_more();
    return false;
  }
  total = expected_;
  return true;
}

// Reads CONTENT_LENGTH from the vars block `payload`. False (and the request refused) when the
// block is invalid or the body is over max_body_size.
bool connection::measure_body(wire::bytes_view payload, std::size_t& body) {
  const auto res = wire::decode_vars(payload, cfg_.limits, vars_);
  if (!res.is_done()) {
    refuse("invalid vars block: " + res.why);
    return false;
  }
  const auto length =
      parse_length(wire::find_var(vars_, "CONTENT_LENGTH").value, cfg_.max_body_size);
  if (!length) {
    refuse("request body larger than the limit of " + std::to_string(cfg_.max_body_size) +
           " bytes");
    return false;
  }
  body = *length;
  return true;
}

void connection::answer(const wire::header& head, std::size_t total) {
  const std::uint8_t* payload = buf_.data() + begin_ + wire::header_size;
  const request rq{head, wire::bytes_view(payload, head.size),
                   wire::bytes_view(payload + head.size, total - wire::header_size - head.size),
                   peer_};
  std::optional<reply> rep = router_.dispatch(rq);
  begin_ += total;
  expected_ = 0;
  if (!rep) {  // unknown modifier1 (logged by the router): close without a reply
    close();
    return;
  }
  write(std::move(*rep));
}

// A failure reply for a request that cannot be framed; the connection closes after it.
void connection::refuse(std::string why) {
  reply r;
  wire::append_error_reply(r.data, "brood.ProtocolError", why);
  r.keep_alive = false;
  write(std::move(r));
}

void connection::write(reply r) {
  out_ = std::move(r);
  phase_ = phase::writing;
  deadline_ = clock::now() + cfg_.socket_timeout;
  asio::async_write(
      socket_, asio::buffer(out_.data),
      [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_written(ec); });
}

void connection::on_written(const error_code& ec) {
  if (phase_ == phase::closed) return;
  if (ec) {
    close();
    return;
  }
  owner_.request_done();
  if (phase_ == phase::closed) return;  // the callback stopped the worker
  if (!out_.keep_alive || stopping_) {
    drain();
    return;
  }
  process();  // a pipelined request may be buffered already
}

void connection::become_idle() {
  begin_ = end_ = 0;
  if (!answered_any_ && tcp_) {  // kept alive: later replies must not wait for Nagle
    error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  answered_any_ = true;
  if (stopping_) {
    close();
    return;
  }
  if (buf_.size() > normal_size_) {  // a large packet or body grew it
    buf_.resize(normal_size_);
    buf_.shrink_to_fit();
  }
  phase_ = phase::idle;
  deadline_ = clock::now() + cfg_.keepalive_timeout;
  read_more();
}

// After a final reply. With nothing unread the connection closes now (as uWSGI does). Otherwise
// it half-closes and reads until the peer closes too (or socket-timeout), so unread request
// bytes cannot turn the close into a reset that destroys the reply.
void connection::drain() {
  // A graceful stop may cut a kept-alive client that pipelined more: check the socket then.
  error_code ec;
  if (begin_ == end_ && (!stopping_ || (socket_.available(ec) == 0 && !ec))) {
    close();
    return;
  }
  phase_ = phase::draining;
  deadline_ = clock::now() + cfg_.socket_timeout;
  error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  begin_ = end_ = 0;
  read_more();
}

// Makes [begin_, begin_ + need) fit in buf_ with room to read into.
void connection::make_room(std::size_t need) {
  if (buf_.size() - begin_ >= need && end_ < buf_.size()) return;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() < need) buf_.resize(need);
}

// The timer never sleeps longer than timer_step_, and every deadline is set at least
// timer_step_ ahead, so moving a deadline never needs a cancel: the timer wakes in time.
void connection::arm_timer() {
  timer_.expires_at(std::min(deadline_, clock::now() + timer_step_));
  timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_timer(ec); });
}

void connection::on_timer(const error_code& ec) {
  if (ec == asio::error::operation_aborted || phase_ == phase::closed) return;
  if (clock::now() >= deadline_) {
    on_deadline();
    return;
  }
  arm_timer();
}

void connection::on_deadline() {
  if (phase_ == phase::reading) {
    log("request from ", peer_, " not received within socket-timeout (", to_ms(cfg_.socket_timeout),
        " ms): connection closed");
  } else if (phase_ == phase::writing) {
    log("reply to ", peer_, " not taken within socket-timeout (", to_ms(cfg_.socket_timeout),
        " ms): connection closed");
  }
  close();
}

void connection::close() {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  owner_.connection_closed(*this);
}

}  // namespace brood::node::detail

// One client connection: framing, dispatch (direct or deferred), keep-alive and the final close.
// Its socket I/O and deadline timer are in connection_io.cpp.
#include "connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "brood/os/log.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "connection_http.hpp"

namespace brood::node::detail {
namespace {

using std::chrono::milliseconds;

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

connection::connection(asio::io_context& io, int fd, int family, std::string peer, const router& r,
                       const node_config& cfg, connection_owner& owner, bool tcp,
                       const http_socket* http)
    : io_(io),
      fd_(fd),
      family_(family),
      socket_(io),
      timer_(io),
      peer_(std::move(peer)),
      router_(r),
      cfg_(cfg),
      owner_(owner),
      http_(http ? make_http_session(cfg, fd, *http) : nullptr),
      io_timeout_(http ? cfg.http.timeout : cfg.socket_timeout),
      idle_timeout_(http ? cfg.http.keepalive_timeout : cfg.keepalive_timeout),
      timer_step_(std::max<clock::duration>(std::min(io_timeout_, idle_timeout_), milliseconds(1))),
      normal_size_(std::min<std::size_t>(cfg.limits.buffer_size, 4096) + wire::header_size),
      buf_(normal_size_) {
  tcp_ = tcp;
}

connection::~connection() {
  if (!registered_ && phase_ != phase::closed) ::close(fd_);
}

void connection::start() {
  deadline_ = clock::now() + io_timeout_;  // a fresh connection must start in time
  read_more();
}

// A connection that has not sent its first request yet is kept: its client connected before the
// stop (often while a reload moves the listening socket to new workers) and expects an answer;
// it gets socket-timeout to send the request, then the usual deadline applies.
// An HTTP connection gets socket-timeout then, not http-timeout (60 s by default), so that a
// browser's speculative connection does not hold a reload.
void connection::stop_gracefully() {
  stopping_ = true;
  if (phase_ == phase::idle && answered_any_) {
    close();
  } else if (phase_ == phase::idle && http_ && registered_) {
    deadline_ = std::min(deadline_, clock::now() + cfg_.socket_timeout);
    arm_timer();  // replaces the pending wait (which ends with operation_aborted)
  }
}

void connection::stop_now() { close(); }

void connection::on_read(const error_code& ec, std::size_t n) {
  if (phase_ == phase::closed) return;
  if (ec) {  // EOF (mid-request or not), reset, abort: nothing left to answer
    if (phase_ == phase::reading) owner_.read_failed();
    close();
    return;
  }
  end_ += n;
  if (phase_ == phase::draining) {  // after a final reply: discard until the peer closes
    begin_ = end_ = 0;
    read_more();
    return;
  }
  if (http_ && http_->tls && !decrypt(n)) return;
  process();
}

// Answers the request at begin_ if it is complete, else reads on.
void connection::process() {
  if (begin_ == end_ && !(http_ && http_mid_request(*http_))) {
    become_idle();
    return;
  }
  if (phase_ != phase::reading) {  // first byte of a request: it has socket-timeout to arrive
    phase_ = phase::reading;
    deadline_ = clock::now() + io_timeout_;
  }
  if (http_) {
    if (frame_http()) answer_http();
    return;
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
      os::log("invalid request block size: ", size, " (max ", cfg_.limits.buffer_size, ")...skip");
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
  in_request_ = true;
  request_start_ = owner_.request_started();
  const std::uint8_t* payload = buf_.data() + begin_ + wire::header_size;
  const request rq{head,
                   wire::bytes_view(payload, head.size),
                   wire::bytes_view(payload + head.size, total - wire::header_size - head.size),
                   peer_,
                   &io_,
                   begin_ + total == end_ ? fd_ : -1};
  owner_.describe_request(rq);
  if (router_.defers(head.modifier1)) {
    begin_ += total;  // rq's views stay valid: buf_ is not touched until the handler returns
    expected_ = 0;
    defer(rq);
    return;
  }
  std::optional<reply> rep = router_.dispatch(rq);
  begin_ += total;
  expected_ = 0;
  if (!rep) {  // unknown modifier1 (logged by the router): close without a reply
    close();
    return;
  }
  write(std::move(*rep));
}

// Starts a deferred handler. Its reply comes back through the io_context, from any thread; until
// then nothing is read and the timer sets no deadline (handlers are not bounded by
// socket-timeout). The callback keeps the io_context running but not the connection: a connection
// stopped meanwhile drops the reply.
void connection::defer(const request& rq) {
  phase_ = phase::deferred;
  deadline_ = clock::time_point::max();
  reply_callback done = [weak = weak_from_this(),
                         work = asio::make_work_guard(io_)](std::optional<reply> rep) mutable {
    asio::post(work.get_executor(), [weak, rep = std::move(rep)]() mutable {
      if (auto self = weak.lock()) self->on_deferred_reply(std::move(rep));
    });
    work.reset();
  };
  router_.dispatch_deferred(rq, done);
}

void connection::on_deferred_reply(std::optional<reply> rep) {
  if (phase_ != phase::deferred) return;  // closed meanwhile
  if (!rep) {                             // the handler answers nothing: close without a reply
    close();
    return;
  }
  if (http_) finish_http(*rep);
  write(std::move(*rep));
}

// A failure reply for a request that cannot be framed; the connection closes after it.
void connection::refuse(std::string why) {
  owner_.read_failed();
  reply r;
  wire::append_error_reply(r.data, "brood.ProtocolError", why);
  r.keep_alive = false;
  write(std::move(r));
}

void connection::on_written(const error_code& ec) {
  if (phase_ == phase::closed) return;
  if (ec) {
    close();
    return;
  }
  if (in_request_) end_request(true);
  owner_.request_done();
  if (phase_ == phase::closed) return;  // the callback stopped the worker
  if (!out_.keep_alive || stopping_) {
    drain();
    return;
  }
  // Kept alive: the next requests go through the reactor, one completion each (a pipelined
  // request is answered after the work already queued, never by recursion: the reply may have
  // been written inline).
  if (!enter_reactor()) return;
  if (begin_ != end_) {
    asio::post(io_, [self = shared_from_this()] {
      if (!self->closed()) self->process();
    });
    return;
  }
  process();
}

void connection::become_idle() {
  begin_ = end_ = 0;
  if (!answered_any_ && tcp_) {  // kept alive: later replies must not wait for Nagle
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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
  deadline_ = clock::now() + idle_timeout_;
  read_more();
}

// After a final reply. With nothing unread the connection closes now (as uWSGI does). Otherwise
// it half-closes and reads until the peer closes too (or socket-timeout), so unread request
// bytes cannot turn the close into a reset that destroys the reply.
void connection::drain() {
  // A graceful stop may cut a kept-alive client that pipelined more: check the socket then.
  int unread = 0;
  if (begin_ == end_ && (!stopping_ || (::ioctl(fd_, FIONREAD, &unread) == 0 && unread == 0))) {
    close();
    return;
  }
  phase_ = phase::draining;
  deadline_ = clock::now() + io_timeout_;
  if (!enter_reactor()) return;
  ::shutdown(fd_, SHUT_WR);
  begin_ = end_ = 0;
  read_more();
}

// Records the end of the request being answered: `written` (its reply was written completely),
// or ended otherwise (closed while its reply was being written: a write error). Its reply (out_)
// counts as a failure reply when it is one (modifier1 255, modifier2 0).
void connection::end_request(bool written) {
  in_request_ = false;
  const bool replying = phase_ == phase::writing;
  const bool failure = replying && out_.data.size() >= wire::header_size &&
                       out_.data[0] == wire::to_byte(wire::modifier1::response) &&
                       out_.data[3] == wire::to_byte(wire::response_modifier2::failure);
  const std::size_t tx = written ? out_.data.size() : replying ? written_ : 0;
  owner_.request_ended(request_start_, tx, failure, replying && !written);
}

}  // namespace brood::node::detail

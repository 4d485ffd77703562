// One client connection, its I/O: straight socket calls while nothing has to wait, the reactor
// and the deadline timer once something does, and the close.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "brood/os/log.hpp"
#include "connection.hpp"
#include "connection_http.hpp"

namespace brood::node::detail {
namespace {

long long to_ms(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

}  // namespace

void connection::read_more() {
  if (end_ == buf_.size()) make_room(end_ - begin_ + 1);
  if (!registered_ && !read_directly_) {
    read_directly();
    return;
  }
  if (!enter_reactor()) return;
  socket_.async_read_some(
      asio::buffer(buf_.data() + end_, buf_.size() - end_),
      [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

// The first read of a fresh connection, straight from the socket.
void connection::read_directly() {
  read_directly_ = true;
  const ssize_t n = ::recv(fd_, buf_.data() + end_, buf_.size() - end_, 0);
  if (n > 0) {
    on_read({}, static_cast<std::size_t>(n));
  } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    read_more();  // nothing yet: wait in the reactor
  } else {
    close();  // EOF before a request, or reset
  }
}

void connection::write(reply r) {
  if (http_ && http_->tls && !encrypt(r)) return;
  out_ = std::move(r);
  written_ = 0;
  phase_ = phase::writing;
  deadline_ = clock::now() + io_timeout_;
  write_directly();  // kept-alive connections too: the socket usually takes the reply at once
}

// Writes what the socket takes at once; the rest, if any, through the reactor. A final reply is
// sent with MSG_MORE: its last segment then leaves with the FIN of the close (or shutdown) that
// always follows it, one packet fewer for both ends.
void connection::write_directly() {
  const int flags = MSG_NOSIGNAL | (out_.keep_alive ? 0 : MSG_MORE);
  while (written_ < out_.data.size()) {
    const ssize_t n = ::send(fd_, out_.data.data() + written_, out_.data.size() - written_, flags);
    if (n >= 0) {
      written_ += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (enter_reactor()) write_rest();
      return;
    } else if (errno != EINTR) {
      close();  // reset, broken pipe: nobody takes the reply
      return;
    }
  }
  on_written({});
}

void connection::write_rest() {
  asio::async_write(
      socket_, asio::buffer(out_.data.data() + written_, out_.data.size() - written_),
      [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_written(ec); });
}

// Hands the socket to the reactor and starts the deadline timer. False (and the connection
// closed) when the reactor refuses it.
bool connection::enter_reactor() {
  if (registered_) return true;
  error_code ec;
  socket_.assign(asio::generic::stream_protocol(family_, tcp_ ? IPPROTO_TCP : 0), fd_, ec);
  if (ec) {
    os::log("cannot watch the connection from ", peer_, ": ", ec.message());
    close();
    return false;
  }
  registered_ = true;
  arm_timer();
  return true;
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
  const char* limit = http_ ? "http-timeout" : "socket-timeout";
  if (phase_ == phase::reading) {
    owner_.read_failed();
    os::log("request from ", peer_, " not received within ", limit, " (",
            to_ms(std::chrono::duration_cast<std::chrono::milliseconds>(io_timeout_)),
            " ms): connection closed");
  } else if (phase_ == phase::writing) {
    os::log("reply to ", peer_, " not taken within ", limit, " (",
            to_ms(std::chrono::duration_cast<std::chrono::milliseconds>(io_timeout_)),
            " ms): connection closed");
  }
  close();
}

void connection::close() {
  if (phase_ == phase::closed) return;
  if (in_request_) end_request(false);
  phase_ = phase::closed;
  if (registered_) {
    error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
  } else {
    ::close(fd_);
  }
  owner_.connection_closed(*this);
}

}  // namespace brood::node::detail

#include "session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "brood/os/log.hpp"
#include "brood/router/routing_key.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/vars.hpp"

namespace brood::router {
namespace {

constexpr std::size_t head_read = 4096 + wire::header_size;

std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }

void no_delay(stream::socket& s, int fam) {
  const int one = 1;
  if (fam == AF_INET || fam == AF_INET6)
    ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

session::session(core& c, stream::socket client)
    : c_(c), client_(std::move(client)), upstream_(c.io), timer_(c.io) {
  ++c_.active_sessions;
}

session::~session() {
  --c_.active_sessions;
  if (node_) c_.subscriptions.release(node_);
}

void session::start() {
  boost::system::error_code ignored;
  client_.non_blocking(true, ignored);  // reads below are waits plus one non-blocking read
  last_activity_ = now();
  arm_timer();
  read_head();
}

void session::arm_timer() {
  timer_.expires_after(c_.cfg.timeout);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->done_) return;
    if (now() - self->last_activity_ >= self->c_.cfg.timeout) {
      os::log("fastrouter: session timed out after ", self->c_.cfg.timeout.count(), " s",
              self->node_address_.empty() ? "" : " (node " + self->node_address_ + ")");
      self->finish();
      return;
    }
    self->arm_timer();
  });
}

void session::read_head() {
  const std::size_t have = head_.size();
  head_.resize(have + head_read);
  client_.async_read_some(
      asio::buffer(head_.data() + have, head_read),
      [self = shared_from_this(), have](const boost::system::error_code& ec, std::size_t n) {
        self->head_.resize(have + n);
        if (ec || self->done_) return self->finish();  // gone before a whole request
        self->last_activity_ = now();
        self->on_head();
      });
}

void session::on_head() {
  if (head_.size() < wire::header_size) return read_head();
  const wire::header h = wire::decode_header(head_);
  if (h.size > c_.cfg.buffer_size) {
    c_.bad_request_log.log("fastrouter: request vars of " + std::to_string(h.size) +
                           " bytes exceed buffer-size " + std::to_string(c_.cfg.buffer_size) +
                           ": connection closed");
    return finish();
  }
  if (head_.size() < wire::header_size + h.size) return read_head();
  wire::limits lim;
  lim.buffer_size = c_.cfg.buffer_size;
  lim.max_vars = 2048;
  std::vector<wire::var> vars;
  const wire::decode_result r =
      wire::decode_vars(wire::bytes_view(head_.data() + wire::header_size, h.size), lim, vars);
  if (r.status != wire::decode_status::done) {
    c_.bad_request_log.log("fastrouter: bad uwsgi vars block: " + std::string(r.why) +
                           ": connection closed");
    return finish();
  }
  const std::string_view key = request_key(vars);
  for (std::string_view k : lookup_keys(key, c_.cfg.dotsplit)) keys_.emplace_back(k);
  if (!c_.cfg.fallback_key.empty()) keys_.push_back(c_.cfg.fallback_key);
  upq_ = std::move(head_);
  rx_ = upq_.size();
  connect_next();
  read_client();
}

void session::connect_next() {
  if (done_) return;
  if (node_) {
    c_.subscriptions.release(node_);
    node_.reset();
  }
  if (!replayable_ || tries_ > c_.cfg.max_retries) return finish();
  ++tries_;
  std::string address;
  for (const std::string& k : keys_)
    if ((node_ = c_.subscriptions.pick(k, now()))) break;
  if (node_) {
    address = node_->address;
    upq_[0] = node_->modifier1;
    upq_[3] = node_->modifier2;
  } else if (const std::string* s = c_.next_static_node()) {
    address = *s;
  } else {
    if (tries_ == 1)
      c_.no_node_log.log("fastrouter: no node for key \"" + (keys_.empty() ? "" : keys_[0]) +
                         "\": connection closed");
    return finish();
  }
  node_address_ = address;
  std::optional<stream::endpoint> ep = c_.endpoint_of(address);
  if (!ep) {
    if (node_) c_.subscriptions.mark_failed(node_);
    return connect_next();
  }
  boost::system::error_code ignored;
  upstream_.close(ignored);
  upstream_ = stream::socket(c_.io);
  upstream_family_ = ep->protocol().family();
  ++gen_;
  connected_ = false;
  upstream_writing_ = false;
  upq_off_ = 0;
  // A non-blocking connect(2) of our own and a wait for writability: Asio's async_connect adds a
  // poll(2) and a getsockopt(2) per connection. A refused connection shows as the first write's
  // error, which is handled as a refusal (nothing reached the node).
  boost::system::error_code ec;
  upstream_.open(ep->protocol(), ec);
  if (!ec) upstream_.non_blocking(true, ec);
  if (ec) return upstream_failed(gen_, "socket() for", ec);
  if (::connect(upstream_.native_handle(), ep->data(), static_cast<socklen_t>(ep->size())) == 0)
    return on_connected(gen_, {});
  if (errno != EINPROGRESS)
    return upstream_failed(gen_, "connect()",
                           boost::system::error_code(errno, boost::system::system_category()));
  upstream_.async_wait(stream::socket::wait_write,
                       [self = shared_from_this(), gen = gen_](const boost::system::error_code& e) {
                         self->on_connected(gen, e);
                       });
}

void session::on_connected(std::uint64_t gen, const boost::system::error_code& ec) {
  if (gen != gen_ || done_) return;
  if (ec) return upstream_failed(gen, "connect()", ec);
  connected_ = true;
  no_delay(upstream_, upstream_family_);
  write_upstream();
  read_upstream();
}

void session::upstream_failed(std::uint64_t gen, const char* what,
                              const boost::system::error_code& ec) {
  if (gen != gen_ || done_) return;
  const bool retry = !sent_to_client_ && replayable_;
  os::log("fastrouter: ", what, " node \"", node_address_, "\" failed (", tries_,
          " tries): ", ec ? ec.message() : std::string("closed before answering"),
          retry ? ", retrying" : "");
  if (node_) {
    if (!node_->death_mark)
      os::log("fastrouter: ", node_->key, " => marking ", node_address_, " as failed");
    c_.subscriptions.mark_failed(node_);
  }
  if (!retry) return finish();
  connect_next();
}

bool session::can_read_client() const noexcept {
  if (client_reading_ || client_eof_ || done_ || upstream_writing_) return false;
  if (appending_) return true;
  return connected_ && upq_off_ == upq_.size();
}

void session::read_client() {
  if (appending_ && upq_.size() >= replay_limit) appending_ = false;
  if (!can_read_client()) return;
  client_reading_ = true;
  client_.async_wait(stream::socket::wait_read, [self = shared_from_this()](
                                                    const boost::system::error_code& wait_ec) {
    boost::system::error_code ec = wait_ec;
    std::size_t n = 0;
    if (!ec && !self->done_) {
      n = self->client_.read_some(asio::buffer(self->client_buf_), ec);
      if (ec == asio::error::would_block) {
        self->client_reading_ = false;
        return self->read_client();
      }
    }
    self->client_reading_ = false;
    if (self->done_) return;
    if (ec == asio::error::eof) {
      self->client_eof_ = true;
      return self->write_upstream();  // shuts the upstream's send side once drained
    }
    if (ec) return self->finish();
    self->last_activity_ = now();
    self->rx_ += n;
    if (!self->appending_) {
      self->upq_.clear();
      self->upq_off_ = 0;
      self->replayable_ = false;
    }
    self->upq_.insert(self->upq_.end(), self->client_buf_.begin(), self->client_buf_.begin() + n);
    self->write_upstream();
    self->read_client();
  });
}

void session::write_upstream() {
  if (!connected_ || upstream_writing_ || done_) return;
  if (upq_off_ == upq_.size()) {
    if (client_eof_) {
      boost::system::error_code ignored;
      upstream_.shutdown(stream::socket::shutdown_send, ignored);
    }
    return;
  }
  upstream_writing_ = true;
  asio::async_write(
      upstream_, asio::buffer(upq_.data() + upq_off_, upq_.size() - upq_off_),
      [self = shared_from_this(), gen = gen_](const boost::system::error_code& ec, std::size_t n) {
        if (gen != self->gen_ || self->done_) return;
        self->upstream_writing_ = false;
        if (ec) return self->upstream_failed(gen, "write to", ec);
        self->upq_off_ += n;
        self->last_activity_ = now();
        self->write_upstream();
        self->read_client();
      });
}

void session::read_upstream() {
  if (!down_buf_) down_buf_.reset(new std::uint8_t[chunk]);
  upstream_.async_wait(stream::socket::wait_read, [self = shared_from_this(), gen = gen_](
                                                      const boost::system::error_code& wait_ec) {
    if (gen != self->gen_ || self->done_) return;
    boost::system::error_code ec = wait_ec;
    std::size_t n = 0;
    if (!ec) {
      n = self->upstream_.read_some(asio::buffer(self->down_buf_.get(), chunk), ec);
      if (ec == asio::error::would_block) return self->read_upstream();
    }
    if (ec) {
      if (!self->sent_to_client_) return self->upstream_failed(gen, "read from", ec);
      return self->finish();  // the answer is complete (or cut): close the client
    }
    self->sent_to_client_ = true;
    self->last_activity_ = now();
    self->tx_ += n;
    asio::async_write(self->client_, asio::buffer(self->down_buf_.get(), n),
                      [self](const boost::system::error_code& ec2, std::size_t) {
                        if (self->done_) return;
                        if (ec2) return self->finish();
                        self->last_activity_ = now();
                        self->read_upstream();
                      });
  });
}

void session::finish() {
  if (done_) return;
  done_ = true;
  timer_.cancel();
  boost::system::error_code ignored;
  client_.close(ignored);
  upstream_.close(ignored);
  if (node_) {
    node_->rx += rx_;
    node_->tx += tx_;
    c_.subscriptions.release(node_);
    node_.reset();
  }
}

}  // namespace brood::router

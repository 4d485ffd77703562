#include "session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "brood/os/log.hpp"
#include "brood/router/routing_key.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/vars.hpp"

namespace brood::router {
namespace {

// A node reads vars blocks of at most buffer-size bytes (4096 by default, in uWSGI as in brood):
// BROOD_KEEPALIVE is added only when the block stays within that.
constexpr std::size_t node_vars_limit = 4096;

std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }

void no_delay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on unix
}

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

// CONTENT_LENGTH as a decimal of at most 19 digits; nullopt when it is anything else.
std::optional<std::uint64_t> parse_length(std::string_view v) {
  if (v.empty() || v.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return n;
}

}  // namespace

void upstream::on_events(std::uint32_t events) {
  if (owner) return owner->on_upstream(*this, events);
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;  // writable: nothing new
  // Idle: an edge left over from its last answer, or the node closed it (or wrote out of turn).
  std::uint8_t b;
  const ssize_t n = ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && would_block(errno) && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
  c_.drop_idle(*this);
}

session::session(core& c, int client_fd) : c_(c), client_(client_fd) {
  client_handler_.s = this;
  ++c_.active_sessions;
  last_activity = now();
}

session::~session() {
  --c_.active_sessions;
  if (client_ >= 0) ::close(client_);
  if (node_) c_.subscriptions.release(node_);
}

void session::client_side::on_events(std::uint32_t events) { s->on_client(events); }

void session::start() {
  buf_.reset(new std::uint8_t[std::max(chunk, head_read)]);
  read_head();
}

bool session::register_client() {
  if (client_registered_) return true;
  if (!c_.loop.add(client_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &client_handler_)) {
    os::log("fastrouter: epoll_ctl: ", std::error_code(errno, std::system_category()).message());
    finish();
    return false;
  }
  client_registered_ = true;
  return true;
}

void session::on_client(std::uint32_t events) {
  if (done_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) client_rd_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) client_hup_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) client_wr_ = true;
  if (vars_size_ == 0 && !up_) return read_head();
  pump();
}

void session::read_head() {
  for (;;) {
    if (!client_rd_) {
      register_client();
      return;
    }
    const std::size_t have = head_.size();
    head_.resize(have + head_read);
    const ssize_t n = ::recv(client_, head_.data() + have, head_read, 0);
    head_.resize(have + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) {
      client_rd_ = false;
      continue;
    }
    if (n <= 0) return finish();  // gone before a whole request
    last_activity = now();
    if (static_cast<std::size_t>(n) < head_read && !client_hup_) client_rd_ = false;
    if (head_.size() < wire::header_size) continue;
    const wire::header h = wire::decode_header(head_);
    if (h.size > c_.cfg.buffer_size) {
      c_.bad_request_log.log("fastrouter: request vars of " + std::to_string(h.size) +
                             " bytes exceed buffer-size " + std::to_string(c_.cfg.buffer_size) +
                             ": connection closed");
      return finish();
    }
    if (head_.size() >= wire::header_size + h.size) return on_head();
  }
}

void session::on_head() {
  const wire::header h = wire::decode_header(head_);
  wire::limits lim;
  lim.buffer_size = c_.cfg.buffer_size;
  lim.max_vars = 2048;
  std::vector<wire::var> vars;
  const wire::decode_result r =
      wire::decode_vars(wire::bytes_view(head_.data() + wire::header_size, h.size), lim, vars);
  if (r.status != wire::decode_status::done || h.size == 0) {
    c_.bad_request_log.log("fastrouter: bad uwsgi vars block: " +
                           (h.size == 0 ? std::string("empty") : std::string(r.why)) +
                           ": connection closed");
    return finish();
  }
  const std::string_view key = request_key(vars);
  for (std::string_view k : lookup_keys(key, c_.cfg.dotsplit)) keys_.emplace_back(k);
  if (!c_.cfg.fallback_key.empty()) keys_.push_back(c_.cfg.fallback_key);
  const wire::var_lookup cl = wire::find_var(vars, "CONTENT_LENGTH");
  std::optional<std::uint64_t> length = cl.found ? parse_length(cl.value) : std::uint64_t{0};
  content_length_ = length.value_or(0);
  can_keep_ = length.has_value() &&
              h.size + wire::keepalive_var_record <= std::min<std::size_t>(node_vars_limit, 65535);
  vars_size_ = h.size;
  const std::size_t head_end = wire::header_size + vars_size_;
  const std::size_t extra = head_.size() - head_end;
  const std::size_t body_now =
      static_cast<std::size_t>(std::min<std::uint64_t>(extra, content_length_));
  body_.assign(head_.begin() + static_cast<std::ptrdiff_t>(head_end),
               head_.begin() + static_cast<std::ptrdiff_t>(head_end + body_now));
  body_total_ = body_now;
  head_.resize(head_end);
  rx_ = head_end + body_now;
  if (!body_complete() && !register_client()) return;
  connect_next();
}

void session::connect_next() {
  if (done_) return;
  if (node_) {
    c_.subscriptions.release(node_);
    node_.reset();
  }
  if (up_) {
    up_->owner = nullptr;
    c_.loop.retire(std::move(up_));
  }
  if (!replayable_ || tries_ > c_.cfg.max_retries) return finish();
  ++tries_;
  std::string address;
  for (const std::string& k : keys_)
    if ((node_ = c_.subscriptions.pick(k, now()))) break;
  if (node_) {
    address = node_->address;
  } else if (const std::string* s = c_.next_static_node()) {
    address = *s;
  } else {
    if (tries_ == 1)
      c_.no_node_log.log("fastrouter: no node for key \"" + (keys_.empty() ? "" : keys_[0]) +
                         "\": connection closed");
    return finish();
  }
  node_address_ = address;
  const bool kept = node_ && node_->keepalive && can_keep_;
  prefix_.assign(head_.begin(), head_.end());
  if (node_) {
    prefix_[0] = node_->modifier1;
    prefix_[3] = node_->modifier2;
  }
  if (kept) {
    const std::vector<wire::var> ka{{wire::keepalive_var, wire::keepalive_value}};
    (void)wire::append_vars(prefix_, ka);
    const std::size_t size = prefix_.size() - wire::header_size;
    prefix_[1] = static_cast<std::uint8_t>(size & 0xff);
    prefix_[2] = static_cast<std::uint8_t>(size >> 8);
  }
  // A kept connection may have been closed by its node meanwhile: only a request that can be sent
  // again whole goes on one.
  if (kept && prefix_.size() + content_length_ <= replay_limit)
    if (std::unique_ptr<upstream> u = c_.take_idle(address)) return attach(std::move(u), true);
  open_upstream(address, kept);
}

void session::open_upstream(const std::string& address, bool kept) {
  std::optional<stream::endpoint> ep = c_.endpoint_of(address);
  if (!ep) {
    if (node_) c_.subscriptions.mark_failed(node_);
    return connect_next();
  }
  const int family = ep->protocol().family();
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          family == AF_UNIX ? 0 : IPPROTO_TCP);
  if (fd < 0) return upstream_failed("socket() for", errno);
  ++c_.upstream_connects;
  auto u = std::make_unique<upstream>(c_, fd, address, kept);
  if (kept && family != AF_UNIX) no_delay(fd);  // requests follow answers on it
  if (!c_.loop.add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, u.get())) {
    const int e = errno;
    attach(std::move(u), false, false);
    return upstream_failed("epoll_ctl() for", e);
  }
  // A refused connection shows as the first write's error (nothing reached the node then).
  const int r = ::connect(fd, ep->data(), static_cast<socklen_t>(ep->size()));
  const int e = errno;
  attach(std::move(u), false, false);
  if (r != 0 && e != EINPROGRESS) return upstream_failed("connect()", e);
  pump();
}

void session::attach(std::unique_ptr<upstream> u, bool reused, bool go) {
  if (up_) {
    up_->owner = nullptr;
    c_.loop.retire(std::move(up_));
  }
  up_ = std::move(u);
  up_->owner = this;
  reused_ = reused;
  // Written at once (a fresh loopback connection is usually up when connect returns; if not,
  // the write waits for the connection). Read when the node's answer makes an edge.
  up_wr_ = true;
  up_rd_ = false;
  up_hup_ = false;
  nodelay_ = up_->kept();
  prefix_off_ = 0;
  body_off_ = 0;
  frames_.reset();
  extra_after_frames_ = false;
  if (go) pump();
}

void session::on_upstream(upstream& u, std::uint32_t events) {
  if (done_ || &u != up_.get()) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) up_rd_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) up_hup_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) up_wr_ = true;
  pump();
}

void session::upstream_failed(const char* what, int err) {
  if (done_) return;
  if (reused_ && !sent_to_client_ && replayable_ && node_) {
    // The node closed a kept connection that was idle: no failure, a fresh connection.
    reused_ = false;
    if (up_) {
      up_->owner = nullptr;
      c_.loop.retire(std::move(up_));
    }
    return open_upstream(node_address_, true);
  }
  const bool retry = !sent_to_client_ && replayable_;
  os::log("fastrouter: ", what, " node \"", node_address_, "\" failed (", tries_, " tries): ",
          err ? std::error_code(err, std::system_category()).message()
              : std::string("closed before answering"),
          retry ? ", retrying" : "");
  if (node_) {
    if (!node_->death_mark)
      os::log("fastrouter: ", node_->key, " => marking ", node_address_, " as failed");
    c_.subscriptions.mark_failed(node_);
  }
  if (!retry) return finish();
  connect_next();
}

void session::pump() {
  while (!done_) {
    int progress = 0, r = 0;
    if ((r = write_upstream()) < 0) return;
    progress |= r;
    if ((r = read_client()) < 0) return;
    progress |= r;
    if ((r = flush_client()) < 0) return;
    progress |= r;
    if ((r = read_upstream()) < 0) return;
    progress |= r;
    if (answer_complete_ && down_off_ == down_.size()) return answer_done();
    if (!progress) return;
  }
}

int session::write_upstream() {
  if (!up_ || !up_wr_) return 0;
  const std::size_t p = prefix_.size() - prefix_off_, b = body_.size() - body_off_;
  if (p + b == 0) return 0;
  iovec iov[2] = {{prefix_.data() + prefix_off_, p}, {body_.data() + body_off_, b}};
  msghdr m{};
  m.msg_iov = p ? iov : iov + 1;
  m.msg_iovlen = p ? 2 : 1;
  const ssize_t n = ::sendmsg(up_->fd(), &m, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno == EINTR) return 1;
    if (would_block(errno)) {
      up_wr_ = false;
      return 0;
    }
    upstream_failed("write to", errno);
    return -1;
  }
  std::size_t w = static_cast<std::size_t>(n);
  const std::size_t from_prefix = std::min(w, p);
  prefix_off_ += from_prefix;
  body_off_ += w - from_prefix;
  last_activity = now();
  if (w < p + b) {
    up_wr_ = false;
    if (!nodelay_) {  // a request in several writes: its last small one must not wait
      nodelay_ = true;
      no_delay(up_->fd());
    }
  }
  if (!replayable_ && body_off_ > 0) {
    body_.erase(body_.begin(), body_.begin() + static_cast<std::ptrdiff_t>(body_off_));
    body_off_ = 0;
  }
  return 1;
}

int session::read_client() {
  if (client_eof_ || body_complete() || !client_rd_ || done_) return 0;
  if (body_.size() - body_off_ >= replay_limit) return 0;  // the node is not taking it yet
  const std::size_t want =
      static_cast<std::size_t>(std::min<std::uint64_t>(chunk, content_length_ - body_total_));
  const std::size_t old = body_.size();
  body_.resize(old + want);
  const ssize_t n = ::recv(client_, body_.data() + old, want, 0);
  body_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  if (n < 0 && errno == EINTR) return 1;
  if (n < 0 && would_block(errno)) {
    client_rd_ = false;
    return register_client() ? 0 : -1;
  }
  if (n <= 0) {  // the client left before its whole body
    client_eof_ = true;
    finish();
    return -1;
  }
  body_total_ += static_cast<std::uint64_t>(n);
  rx_ += static_cast<std::uint64_t>(n);
  last_activity = now();
  if (static_cast<std::size_t>(n) < want && !client_hup_) client_rd_ = false;
  if (replayable_ && body_.size() > replay_limit) {
    replayable_ = false;
    body_.erase(body_.begin(), body_.begin() + static_cast<std::ptrdiff_t>(body_off_));
    body_off_ = 0;
  }
  if (!body_complete() && !client_rd_ && !register_client()) return -1;
  return 1;
}

int session::flush_client() {
  if (down_off_ == down_.size() || !client_wr_) return 0;
  const ssize_t w =
      ::send(client_, down_.data() + down_off_, down_.size() - down_off_, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno == EINTR) return 1;
    if (would_block(errno)) {
      client_wr_ = false;
      return 0;
    }
    finish();
    return -1;
  }
  down_off_ += static_cast<std::size_t>(w);
  last_activity = now();
  if (down_off_ < down_.size()) {
    client_wr_ = false;
  } else {
    down_.clear();
    down_off_ = 0;
  }
  return 1;
}

void session::deliver(const std::uint8_t* p, std::size_t n) {
  if (n == 0 || done_) return;
  sent_to_client_ = true;
  tx_ += n;
  if (down_off_ == down_.size() && client_wr_) {
    const ssize_t w = ::send(client_, p, n, MSG_NOSIGNAL);
    if (w < 0 && !would_block(errno) && errno != EINTR) return finish();
    const std::size_t took = w > 0 ? static_cast<std::size_t>(w) : 0;
    p += took;
    n -= took;
    if (n > 0) client_wr_ = false;
  }
  if (n == 0) return;
  down_.insert(down_.end(), p, p + n);
  register_client();
}

int session::read_upstream() {
  if (!up_ || !up_rd_ || answer_complete_ || down_off_ < down_.size()) return 0;
  const ssize_t n = ::recv(up_->fd(), buf_.get(), chunk, 0);
  if (n < 0 && errno == EINTR) return 1;
  if (n < 0 && would_block(errno)) {
    up_rd_ = false;
    return 0;
  }
  if (n <= 0) {
    const int err = n < 0 ? errno : 0;
    if (up_->kept() ? (!sent_to_client_ && frames_.at_boundary()) : !sent_to_client_) {
      upstream_failed("read from", err);
      return -1;
    }
    if (up_->kept()) return finish(), -1;  // cut inside the answer: the client sees the close
    answer_complete_ = true;               // a fresh connection's answer ends with its close
    return 1;
  }
  last_activity = now();
  if (static_cast<std::size_t>(n) < chunk && !up_hup_) up_rd_ = false;
  if (!up_->kept()) {
    deliver(buf_.get(), static_cast<std::size_t>(n));
    return done_ ? -1 : 1;
  }
  wire::bytes_view in(buf_.get(), static_cast<std::size_t>(n));
  while (!in.empty() && !frames_.done()) {
    wire::bytes_view payload;
    in = in.subspan(frames_.feed(in, payload));
    deliver(payload.data(), payload.size());
    if (done_) return -1;
  }
  if (frames_.done()) {
    answer_complete_ = true;
    extra_after_frames_ = !in.empty();
  }
  return 1;
}

void session::answer_done() {
  const bool whole_request =
      prefix_off_ == prefix_.size() && body_off_ == body_.size() && body_complete();
  if (up_ && up_->kept() && frames_.done() && !extra_after_frames_ && whole_request && node_ &&
      !node_->death_mark && !c_.closed) {
    ++up_->requests;
    up_->owner = nullptr;
    c_.keep_idle(std::move(up_));
  }
  finish();
}

void session::finish() {
  if (done_) return;
  done_ = true;
  if (client_ >= 0) ::close(client_);
  client_ = -1;
  if (up_) {
    up_->owner = nullptr;
    c_.loop.retire(std::move(up_));
  }
  if (node_) {
    node_->rx += rx_;
    node_->tx += tx_;
    c_.subscriptions.release(node_);
    node_.reset();
  }
  c_.retire(*this);
}

}  // namespace brood::router

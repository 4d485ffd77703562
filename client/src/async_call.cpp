#include "async_call.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "errors.hpp"

namespace brood::client::detail {
namespace {

using boost::system::error_code;

// The errno behind an Asio error (EIO when it has none).
int errno_of(const error_code& ec) {
  return ec.category() == boost::system::system_category() ? ec.value() : EIO;
}

bool peer_gone(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

}  // namespace

std::optional<generic_socket> async_state::take(std::string_view address) {
  auto it = idle.find(address);
  if (it == idle.end()) return std::nullopt;
  while (!it->second.empty()) {
    generic_socket s = std::move(it->second.back());
    it->second.pop_back();
    if (idle_connection_alive(s.native_handle())) return s;
  }
  return std::nullopt;
}

void async_state::put(std::string_view address, generic_socket s) {
  constexpr std::size_t per_address = 4;
  constexpr std::size_t max_addresses = 1024;
  auto it = idle.find(address);
  if (it == idle.end()) {
    if (idle.size() >= max_addresses) idle.clear();
    it = idle.emplace(std::string(address), std::vector<generic_socket>{}).first;
  }
  if (it->second.size() < per_address) it->second.push_back(std::move(s));
}

void async_state::shutdown() {
  closed = true;
  std::vector<async_call*> pending(active.begin(), active.end());
  for (async_call* c : pending) c->abort();
  idle.clear();
}

async_call::async_call(std::shared_ptr<async_state> st, std::string address, wire::bytes request,
                       std::chrono::milliseconds timeout, completion done)
    : st_(std::move(st)),
      address_(std::move(address)),
      request_(std::move(request)),
      timeout_(timeout),
      done_(std::move(done)),
      socket_(st_->strand),
      timer_(st_->strand) {}

void async_call::launch(std::shared_ptr<async_call> call) {
  client_strand strand = call->st_->strand;
  asio::post(strand, [call = std::move(call)] { call->begin(); });
}

void async_call::begin() {
  if (st_->closed) return finish(canceled_error(address_));
  st_->active.insert(this);
  if (auto err = st_->endpoints.get(address_, ep_)) return finish(std::move(err));
  timer_.expires_after(timeout_);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_timer(ec); });
  if (auto s = st_->take(address_)) {
    socket_ = std::move(*s);
    reused_ = true;
    return write();
  }
  connect_fresh();
}

void async_call::connect_fresh() {
  error_code ec;
  socket_.open(asio::generic::stream_protocol(ep_.family(), 0), ec);
  if (!ec && ep_.tcp) socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (ec) return finish(io_error(address_, errno_of(ec)));
  asio::generic::stream_protocol::endpoint target(ep_.sa(), ep_.len);
  socket_.async_connect(target,
                        [self = shared_from_this()](const error_code& e) { self->on_connect(e); });
}

void async_call::on_connect(const error_code& ec) {
  if (finished_) return;
  if (ec) return finish(connect_error(address_, errno_of(ec)));
  write();
}

void async_call::write() {
  asio::async_write(
      socket_, asio::buffer(request_),
      [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
}

void async_call::on_write(const error_code& ec) {
  if (finished_) return;
  if (!ec) return read();
  if (peer_gone(ec) && retry()) return;
  finish(io_error(address_, errno_of(ec)));
}

void async_call::read() {
  std::span<wire::byte> space = reply_.space();
  socket_.async_read_some(
      asio::buffer(space.data(), space.size()),
      [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void async_call::on_read(const error_code& ec, std::size_t n) {
  if (finished_) return;
  reply_.commit(n);
  if (!ec) return reply_.complete() ? finish(std::nullopt) : read();
  if (reply_.started()) {
    return finish(ec == asio::error::eof ? cut_reply_error(address_)
                                         : io_error(address_, errno_of(ec)));
  }
  if (peer_gone(ec) && retry()) return;
  finish(ec == asio::error::eof ? closed_error(address_) : io_error(address_, errno_of(ec)));
}

void async_call::on_timer(const error_code& ec) {
  if (finished_ || ec == asio::error::operation_aborted) return;
  finish(timeout_error(address_, timeout_));
}

bool async_call::retry() {
  if (!reused_ || retried_) return false;
  reused_ = false;
  retried_ = true;
  error_code ignored;
  socket_.close(ignored);
  reply_.clear();
  connect_fresh();
  return true;
}

void async_call::abort() {
  if (!finished_) finish(canceled_error(address_));
}

void async_call::finish(std::optional<call_error> err) {
  finished_ = true;
  timer_.cancel();
  st_->active.erase(this);
  if (!err && !reply_.overrun() && !st_->closed) {
    st_->put(address_, std::move(socket_));
  } else {
    error_code ignored;
    socket_.close(ignored);  // pending operations end with operation_aborted
  }
  done_(std::move(err), reply_, address_);
}

}  // namespace brood::client::detail

// The worker: accept loops on the node's listening sockets and the set of live connections.
#include "brood/node/worker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <unordered_map>

#include "brood/node/log.hpp"
#include "connection.hpp"

namespace brood::node {
namespace {

using generic = asio::generic::stream_protocol;
using acceptor_type = asio::basic_socket_acceptor<generic>;
using error_code = boost::system::error_code;

constexpr auto accept_retry_delay = std::chrono::milliseconds(100);

// "127.0.0.1:5555", "[::1]:5555", the unix path ("@name" for an abstract socket), or "?".
std::string describe(const sockaddr* sa, std::size_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ':' + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return '[' + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (sa->sa_family == AF_UNIX && len > offsetof(sockaddr_un, sun_path)) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    std::string path(un->sun_path, len - offsetof(sockaddr_un, sun_path));
    if (!path.empty() && path[0] == '\0') return '@' + path.substr(1);
    return path.substr(0, path.find('\0'));
  }
  return "?";
}

}  // namespace

struct worker::impl final : detail::connection_owner {
  // One listening socket; shared with its pending accept, so `owner` is cleared on stop.
  struct listener {
    explicit listener(asio::io_context& io) : acceptor(io), retry(io) {}
    acceptor_type acceptor;
    asio::steady_timer retry;  // after an accept error (EMFILE...)
    generic::endpoint peer;    // filled by the pending accept
    std::string name;          // bound address; the peer of every unix connection
    bool tcp = false;
    impl* owner = nullptr;
  };

  impl(asio::io_context& io, const router& r, const node_config& cfg)
      : io_(io), router_(r), cfg_(cfg) {}

  void adopt(int fd);
  static void accept_next(const std::shared_ptr<listener>& l);
  void on_accept(const std::shared_ptr<listener>& l, const error_code& ec, generic::socket s);
  void serve(listener& l, generic::socket s);
  void close_listeners();
  std::vector<std::shared_ptr<detail::connection>> snapshot() const;

  void connection_closed(detail::connection& c) override { connections_.erase(&c); }
  void request_done() override {
    if (done_) done_();
  }

  asio::io_context& io_;
  const router& router_;
  const node_config& cfg_;
  std::vector<std::shared_ptr<listener>> listeners_;
  std::unordered_map<detail::connection*, std::shared_ptr<detail::connection>> connections_;
  std::function<void()> done_;
};

// Wraps a listening fd in an acceptor of its own family (TCP over IPv4/IPv6, or unix).
void worker::impl::adopt(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  const int family = ::getsockname(fd, sa, &len) == 0 ? ss.ss_family : AF_UNSPEC;
  const bool tcp = family == AF_INET || family == AF_INET6;
  if (!tcp && family != AF_UNIX) {
    log("listening fd ", fd, " is not a TCP or unix socket: not used");
    ::close(fd);
    return;
  }
  auto l = std::make_shared<listener>(io_);
  error_code ec;
  l->acceptor.assign(generic(family, tcp ? IPPROTO_TCP : 0), fd, ec);
  if (ec) {
    log("cannot accept on fd ", fd, ": ", ec.message());
    ::close(fd);
    return;
  }
  l->name = describe(sa, len);
  l->tcp = tcp;
  l->owner = this;
  listeners_.push_back(std::move(l));
}

void worker::impl::accept_next(const std::shared_ptr<listener>& l) {
  l->acceptor.async_accept(l->peer, [l](const error_code& ec, generic::socket s) {
    if (l->owner) l->owner->on_accept(l, ec, std::move(s));
  });
}

void worker::impl::on_accept(const std::shared_ptr<listener>& l, const error_code& ec,
                             generic::socket s) {
  if (ec == asio::error::operation_aborted) return;
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    accept_next(l);  // another worker process took the connection
    return;
  }
  if (ec) {  // EMFILE, ENFILE, ENOBUFS...: the socket stays open, try again shortly
    log("accept on ", l->name, " failed: ", ec.message(), "; retrying in ",
        accept_retry_delay.count(), " ms");
    l->retry.expires_after(accept_retry_delay);
    l->retry.async_wait([l](const error_code& wait_ec) {
      if (!wait_ec && l->owner) accept_next(l);
    });
    return;
  }
  serve(*l, std::move(s));
  // Accept the next connection only after the work already queued (this connection's first
  // read, its handler) has run: accepting now could take a second request into this worker while
  // it is about to block in a handler, leaving an idle worker without it.
  asio::post(io_, [l] {
    if (l->owner) l->owner->accept_next(l);
  });
}

void worker::impl::serve(listener& l, generic::socket s) {
  std::string peer = l.tcp ? describe(l.peer.data(), l.peer.size()) : l.name;
  auto c = std::make_shared<detail::connection>(std::move(s), std::move(peer), router_, cfg_, *this,
                                                l.tcp);
  connections_.emplace(c.get(), c);
  c->start();
}

void worker::impl::close_listeners() {
  for (auto& l : listeners_) {
    l->owner = nullptr;
    error_code ignored;
    l->acceptor.close(ignored);
    l->retry.cancel();
  }
  listeners_.clear();
}

// The live connections, copied: stopping one removes it from connections_.
std::vector<std::shared_ptr<detail::connection>> worker::impl::snapshot() const {
  std::vector<std::shared_ptr<detail::connection>> all;
  all.reserve(connections_.size());
  for (const auto& entry : connections_) all.push_back(entry.second);
  return all;
}

worker::worker(asio::io_context& io, const router& r, const node_config& cfg,
               std::vector<int> listen_fds)
    : impl_(std::make_unique<impl>(io, r, cfg)) {
  for (int fd : listen_fds) impl_->adopt(fd);
}

worker::~worker() { stop_now(); }

void worker::start() {
  for (const auto& l : impl_->listeners_) impl::accept_next(l);
}

void worker::stop_gracefully() {
  impl_->close_listeners();
  for (const auto& c : impl_->snapshot()) c->stop_gracefully();
}

void worker::stop_now() {
  impl_->close_listeners();
  for (const auto& c : impl_->snapshot()) c->stop_now();
}

std::size_t worker::connection_count() const noexcept { return impl_->connections_.size(); }

void worker::on_request_done(std::function<void()> fn) { impl_->done_ = std::move(fn); }

}  // namespace brood::node

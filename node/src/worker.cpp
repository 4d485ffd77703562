// The worker: accept loops on the node's listening sockets and the set of live connections.
// Connections are taken with accept4 (non-blocking, close-on-exec at once) and answered without the
// reactor when their request is in already; only those that must wait are registered with it.
#include "brood/node/worker.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <unordered_map>

#include "brood/os/log.hpp"
#include "brood/os/process_memory.hpp"
#include "brood/os/socket_address.hpp"
#include "connection.hpp"
#include "http_sockets.hpp"
#include "scoreboard.hpp"
#include "worker_lifetime.hpp"

namespace brood::node {
namespace {

using generic = asio::generic::stream_protocol;
using acceptor_type = asio::basic_socket_acceptor<generic>;
using error_code = boost::system::error_code;

constexpr auto accept_retry_delay = std::chrono::milliseconds(100);
// One accept turn takes at most this many connections answered at once, and stops once it has
// run this long, before the io_context runs the rest of its work.
constexpr int accept_batch = 16;
constexpr auto accept_turn = std::chrono::milliseconds(1);

}  // namespace

struct worker::impl final : detail::connection_owner {
  // One listening socket; shared with its pending wait, so `owner` is cleared on stop.
  struct listener {
    explicit listener(asio::io_context& io) : acceptor(io), retry(io) {}
    acceptor_type acceptor;    // used only to wait for readiness; accept4 takes the connections
    asio::steady_timer retry;  // after an accept error (EMFILE...)
    std::string name;          // bound address; the peer of every unix connection
    int family = AF_UNSPEC;
    bool tcp = false;
    const detail::http_socket* http = nullptr;  // an HTTP socket (http_sockets.hpp), or null
    impl* owner = nullptr;
  };

  impl(asio::io_context& io, const router& r, const node_config& cfg, unsigned core)
      : io_(io), router_(r), cfg_(cfg), stats_(core) {}

  void adopt(int fd);
  static void accept_some(const std::shared_ptr<listener>& l);
  static void wait_ready(const std::shared_ptr<listener>& l);
  static void on_accept_error(const std::shared_ptr<listener>& l, int error);
  bool serve(listener& l, int fd, const sockaddr_storage& peer, socklen_t peer_len);
  void close_listeners();
  std::vector<std::shared_ptr<detail::connection>> snapshot() const;

  void connection_closed(detail::connection& c) override { connections_.erase(&c); }
  void request_done() override {
    if (done_) done_();
  }
  std::int64_t request_started() noexcept override { return stats_.request_started(); }
  void request_ended(std::int64_t start, std::size_t tx, bool failure_reply,
                     bool write_failed) noexcept override {
    stats_.request_ended(start, tx, failure_reply, write_failed);
    const auto why = lifetime_.request_ended(std::chrono::steady_clock::now(), [] {
      const auto mem = os::read_process_memory(::getpid());
      return mem ? *mem : os::process_memory{};
    });
    if (why != recycle_reason::none) recycle(why);
  }
  void read_failed() noexcept override { stats_.read_failed(); }
  void describe_request(const request& rq) noexcept override;
  void recycle(recycle_reason why);

  asio::io_context& io_;
  const router& router_;
  const node_config& cfg_;
  std::vector<std::shared_ptr<listener>> listeners_;
  std::unordered_map<detail::connection*, std::shared_ptr<detail::connection>> connections_;
  std::function<void()> done_;
  slot_recorder stats_;  // this process's stats scoreboard slot, if any
  detail::worker_lifetime lifetime_{cfg_.lifetime, std::chrono::steady_clock::now()};
};

// Wraps a listening fd in an acceptor of its own family (TCP over IPv4/IPv6, or unix).
void worker::impl::adopt(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  const int family = ::getsockname(fd, sa, &len) == 0 ? ss.ss_family : AF_UNSPEC;
  const bool tcp = family == AF_INET || family == AF_INET6;
  if (!tcp && family != AF_UNIX) {
    os::log("listening fd ", fd, " is not a TCP or unix socket: not used");
    ::close(fd);
    return;
  }
  auto l = std::make_shared<listener>(io_);
  error_code ec;
  l->acceptor.assign(generic(family, tcp ? IPPROTO_TCP : 0), fd, ec);
  const int flags = ec ? -1 : ::fcntl(fd, F_GETFL);  // accept4 must never block
  if (ec || flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    os::log("cannot accept on fd ", fd, ": ", ec ? ec.message() : std::strerror(errno));
    if (!l->acceptor.is_open()) ::close(fd);
    return;  // an assigned fd is closed with the acceptor
  }
  l->name = os::describe_socket_address(sa, len);
  l->family = family;
  l->tcp = tcp;
  l->http = detail::find_http_socket(fd);
  l->owner = this;
  listeners_.push_back(std::move(l));
}

// Takes connections while they are waiting and each one is answered at once (at most
// accept_batch, within accept_turn), then lets the io_context run the other work first. A
// connection that must wait (request incomplete, reply not taken) also ends the turn: this worker
// never takes a second connection before the work of the first has run, so an idle worker gets
// it instead.
void worker::impl::accept_some(const std::shared_ptr<listener>& l) {
  const auto turn_end = std::chrono::steady_clock::now() + accept_turn;
  for (int n = 0; n < accept_batch; ++n) {
    sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    const int fd = ::accept4(l->acceptor.native_handle(), reinterpret_cast<sockaddr*>(&peer),
                             &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      on_accept_error(l, errno);
      return;
    }
    const bool answered = l->owner->serve(*l, fd, peer, peer_len);
    if (!l->owner) return;  // a handler or the request_done hook stopped the worker
    if (!answered || std::chrono::steady_clock::now() >= turn_end) break;
  }
  asio::post(l->owner->io_, [l] {
    if (l->owner) accept_some(l);
  });
}

// Waits until the listening socket has a connection. The reactor watches it edge-triggered, so
// this is called only right after accept4 found the backlog empty.
void worker::impl::wait_ready(const std::shared_ptr<listener>& l) {
  l->acceptor.async_wait(acceptor_type::wait_read, [l](const error_code& ec) {
    if (ec == asio::error::operation_aborted || !l->owner) return;
    if (ec) {
      on_accept_error(l, ec.value());
      return;
    }
    accept_some(l);
  });
}

void worker::impl::on_accept_error(const std::shared_ptr<listener>& l, int error) {
  switch (error) {
    case EAGAIN:  // the backlog is empty (or another worker process took the connection)
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      wait_ready(l);
      return;
    case EINTR:  // the connection went away before it was taken (reset, network error): next
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
      asio::post(l->owner->io_, [l] {
        if (l->owner) accept_some(l);
      });
      return;
    default:  // EMFILE, ENFILE, ENOBUFS...: the socket stays open, try again shortly
      os::log("accept on ", l->name, " failed: ", std::strerror(error), "; retrying in ",
              accept_retry_delay.count(), " ms");
      l->retry.expires_after(accept_retry_delay);
      l->retry.async_wait([l](const error_code& wait_ec) {
        if (!wait_ec && l->owner) accept_some(l);
      });
  }
}

// Serves the connection `fd` (owned from now on). True when it was answered and closed at once.
bool worker::impl::serve(listener& l, int fd, const sockaddr_storage& peer, socklen_t peer_len) {
  std::string name =
      l.tcp ? os::describe_socket_address(reinterpret_cast<const sockaddr*>(&peer), peer_len)
            : l.name;
  auto c = std::make_shared<detail::connection>(io_, fd, l.family, std::move(name), router_, cfg_,
                                                *this, l.tcp, l.http);
  connections_.emplace(c.get(), c);
  c->start();
  return c->closed();
}

void worker::impl::describe_request(const request& rq) noexcept {
  if (!lifetime_.describes()) return;
  thread_local std::vector<wire::var> scratch;  // requests may run on several threads
  try {
    stats_.describe(detail::summarize_request(rq, cfg_.limits, scratch));
  } catch (...) {  // out of memory: no summary
  }
}

// This worker stops accepting now (on the io_context's thread: at once when called there),
// finishes what it holds and exits (the SIGTERM takes the graceful stop path of the worker
// process); the master spawns its successor meanwhile.
void worker::impl::recycle(recycle_reason why) {
  stats_.recycling(why);
  os::log("...The work of process ", ::getpid(), " is done (", to_string(why), " after ",
          lifetime_.requests(), " requests). Seeya!");
  asio::dispatch(io_, [this] { close_listeners(); });
  ::kill(::getpid(), SIGTERM);
}

void worker::impl::close_listeners() {
  stats_.set_accepting(false);
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
               std::vector<int> listen_fds, unsigned core)
    : impl_(std::make_unique<impl>(io, r, cfg, core)) {
  for (int fd : listen_fds) impl_->adopt(fd);
}

worker::~worker() { stop_now(); }

void worker::adopt_listeners(std::vector<int> listen_fds) {
  for (int fd : listen_fds) impl_->adopt(fd);
}

void worker::start() {
  if (!impl_->listeners_.empty()) impl_->stats_.set_accepting(true);
  for (const auto& l : impl_->listeners_) {
    asio::post(impl_->io_, [l] {  // the backlog may hold connections already: look first
      if (l->owner) impl::accept_some(l);
    });
  }
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

const std::function<void()>& worker::request_done_hook() const noexcept { return impl_->done_; }

}  // namespace brood::node

#include "core.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "brood/os/address.hpp"
#include "brood/os/log.hpp"
#include "session.hpp"
#include "upstream.hpp"

namespace brood::router {

void rate_limited_log::log(const std::string& line) {
  const auto now = std::chrono::steady_clock::now();
  if (now - window_ >= std::chrono::seconds(1)) {
    window_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= per_second_) {
    ++suppressed_;
    return;
  }
  ++in_window_;
  if (suppressed_ > 0)
    os::log(line, " (", suppressed_, " more like it were not logged)");
  else
    os::log(line);
  suppressed_ = 0;
}

std::optional<stream::endpoint> core::endpoint_of(const std::string& address) {
  if (auto it = endpoints_.find(address); it != endpoints_.end()) return it->second;
  os::result<os::address> a = os::parse_address(address);
  if (!a) {
    os::log("fastrouter: node address \"", address, "\": ", a.error().message());
    return std::nullopt;
  }
  os::result<os::socket_address> sa = os::resolve_address(*a, os::resolve_for::connect);
  if (!sa) {
    os::log("fastrouter: node address \"", address, "\": ", sa.error().message());
    return std::nullopt;
  }
  const int proto = sa->family() == AF_UNIX ? 0 : IPPROTO_TCP;
  stream::endpoint ep(sa->get(), sa->size, proto);
  if (endpoints_.size() > 65536) endpoints_.clear();  // addresses of nodes long gone
  endpoints_.emplace(address, ep);
  return ep;
}

core::core(const router_config& cfg, asio::io_context& io)
    : cfg(cfg), io(io), subscriptions(cfg.algo, cfg.tolerance), loop(io), sweep_timer_(io) {}

core::~core() {
  *alive = false;
  while (!sessions.empty()) sessions.front()->finish();  // each leaves the list
  idle.clear();
}

listener::~listener() { close(); }

void listener::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void listener::on_events(std::uint32_t) {
  while (fd_ >= 0 && !c_.closed) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      c_.accepted(fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    // EMFILE and the like: the queue is not drained, so no new edge may come: try again soon.
    os::log("fastrouter: accept: ", std::error_code(errno, std::system_category()).message());
    auto t = std::make_shared<asio::steady_timer>(c_.io, std::chrono::milliseconds(100));
    t->async_wait([this, t, alive = c_.alive](const boost::system::error_code&) {
      if (*alive) on_events(EPOLLIN);
    });
    return;
  }
}

void core::accepted(int fd) {
  sessions.push_back(std::make_unique<session>(*this, fd));
  session& s = *sessions.back();
  s.self = std::prev(sessions.end());
  s.start();
}

void core::retire(session& s) {
  std::unique_ptr<session> owned = std::move(*s.self);
  sessions.erase(s.self);
  loop.retire(std::move(owned));
}

std::unique_ptr<upstream> core::take_idle(const std::string& address) {
  auto it = idle.find(address);
  if (it == idle.end() || it->second.empty()) return nullptr;
  std::unique_ptr<upstream> u = std::move(it->second.back());  // the most recently used
  it->second.pop_back();
  --idle_count;
  ++upstream_reuses;
  return u;
}

void core::keep_idle(std::unique_ptr<upstream> u) {
  auto& pool = idle[u->address()];
  if (pool.size() >= idle_per_node || closed) return loop.retire(std::move(u));
  u->owner = nullptr;
  u->idle_since = std::chrono::steady_clock::now();
  pool.push_back(std::move(u));
  ++idle_count;
}

void core::drop_idle(upstream& u) {
  auto it = idle.find(u.address());
  if (it == idle.end()) return;
  auto& pool = it->second;
  auto at = std::find_if(pool.begin(), pool.end(), [&](const auto& p) { return p.get() == &u; });
  if (at == pool.end()) return;
  std::unique_ptr<upstream> gone = std::move(*at);
  pool.erase(at);
  --idle_count;
  if (pool.empty()) idle.erase(it);
  loop.retire(std::move(gone));
}

void core::start_sweep() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this, alive = alive](const boost::system::error_code& ec) {
    if (!*alive || ec) return;
    sweep();
    start_sweep();
  });
}

void core::sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<session*> late;
  for (auto& s : sessions)
    if (now - s->last_activity >= cfg.timeout) late.push_back(s.get());
  for (session* s : late) {
    os::log("fastrouter: session timed out after ", cfg.timeout.count(), " s");
    s->finish();
  }
  for (auto it = idle.begin(); it != idle.end();) {
    auto& pool = it->second;
    while (!pool.empty() && now - pool.front()->idle_since >= cfg.timeout) {
      loop.retire(std::move(pool.front()));
      pool.erase(pool.begin());
      --idle_count;
    }
    it = pool.empty() ? idle.erase(it) : std::next(it);
  }
}

const std::string* core::next_static_node() {
  if (cfg.static_nodes.empty()) return nullptr;
  return &cfg.static_nodes[static_next++ % cfg.static_nodes.size()];
}

}  // namespace brood::router

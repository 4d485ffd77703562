#include "brood/router/router.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include "brood/os/address.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"
#include "brood/os/socket_address.hpp"
#include "core.hpp"

namespace brood::router {
namespace {

constexpr int backlog = 1024;

os::result<std::unique_ptr<asio::basic_socket_acceptor<stream>>> listen_on(asio::io_context& io,
                                                                           const std::string& text,
                                                                           os::accept_when when,
                                                                           std::string& name) {
  os::result<os::address> a = os::parse_address(text);
  if (!a) return a.error();
  os::result<os::bound_socket> b = os::bind_socket(*a, backlog, when);
  if (!b) return b.error();
  name = b->name;
  const int family = a->type == os::address::kind::unix_path
                         ? AF_UNIX
                         : os::resolve_address(*a, os::resolve_for::bind)->family();
  auto acc = std::make_unique<asio::basic_socket_acceptor<stream>>(io);
  boost::system::error_code ec;
  acc->assign(stream(family, family == AF_UNIX ? 0 : IPPROTO_TCP), b->fd.release(), ec);
  if (ec) return os::status(ec, "cannot use the socket of " + text + ": " + ec.message());
  return acc;
}

os::result<std::unique_ptr<datagram::socket>> bind_datagram(asio::io_context& io,
                                                            const std::string& text,
                                                            std::string& name) {
  os::result<os::address> a = os::parse_address(text);
  if (!a) return a.error();
  os::result<os::socket_address> sa = os::resolve_address(*a, os::resolve_for::bind);
  if (!sa) return sa.error().context("cannot bind " + text);
  if (a->type == os::address::kind::unix_path) ::unlink(a->path.c_str());
  const int fd = ::socket(sa->family(), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return os::status::last_errno("cannot bind " + text + ": socket");
  const int one = 1;
  if (sa->family() != AF_UNIX) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, sa->get(), sa->size) != 0) {
    os::status st = os::status::last_errno("cannot bind " + text);
    ::close(fd);
    return st;
  }
  name = os::local_name(fd);
  auto s = std::make_unique<datagram::socket>(io);
  boost::system::error_code ec;
  s->assign(datagram(sa->family(), sa->family() == AF_UNIX ? 0 : IPPROTO_UDP), fd, ec);
  if (ec) {
    ::close(fd);
    return os::status(ec, "cannot use the socket of " + text + ": " + ec.message());
  }
  return s;
}

}  // namespace

router_server::router_server(std::unique_ptr<core> c) : core_(std::move(c)) {}
router_server::~router_server() { close(); }

os::result<std::unique_ptr<router_server>> router_server::open(const router_config& cfg,
                                                               asio::io_context& io) {
  auto c = std::make_unique<core>(cfg, io);
  if (!cfg.sign_check_digest.empty()) {
    os::result<sign_check> sc =
        sign_check::open(cfg.sign_check_digest + ":" + cfg.sign_check_dir, cfg.sign_tolerance);
    if (!sc) return sc.error();
    c->signer.emplace(std::move(*sc));
  }
  for (const std::string& s : cfg.sockets) {
    os::result<os::address> a = os::parse_address(s);
    if (!a) return a.error().context("fastrouter");
    os::result<os::bound_socket> b = os::bind_socket(*a, backlog, os::accept_when::first_bytes);
    if (!b) return b.error().context("fastrouter");
    const int fd = b->fd.release();
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    os::log("brood fastrouter bound on ", b->name, " fd ", fd);
    c->listeners.push_back(std::make_unique<listener>(*c, fd));
    c->socket_names.push_back(b->name);
  }
  for (const std::string& s : cfg.subscription_servers) {
    std::string name;
    auto sock = bind_datagram(io, s, name);
    if (!sock) return sock.error().context("fastrouter-subscription-server");
    os::log("brood fastrouter subscription server bound on ", name, " fd ",
            (*sock)->native_handle());
    c->subscription_sockets.push_back(std::move(*sock));
    c->subscription_names.push_back(name);
  }
  if (!cfg.stats.empty()) {
    auto acc = listen_on(io, cfg.stats, os::accept_when::connected, c->stats_name);
    if (!acc) return acc.error().context("fastrouter-stats");
    os::log("fastrouter stats server enabled on ", c->stats_name);
    c->stats_acceptor = std::move(*acc);
  }
  start_accepting(*c);
  for (auto& s : c->subscription_sockets) start_subscription_server(*c, *s);
  start_stats_server(*c);
  return std::unique_ptr<router_server>(new router_server(std::move(c)));
}

const std::vector<std::string>& router_server::socket_names() const noexcept {
  return core_->socket_names;
}
const std::vector<std::string>& router_server::subscription_names() const noexcept {
  return core_->subscription_names;
}
const std::string& router_server::stats_name() const noexcept { return core_->stats_name; }
const table& router_server::subscriptions() const noexcept { return core_->subscriptions; }
std::size_t router_server::active_sessions() const noexcept { return core_->active_sessions; }

void router_server::close() {
  if (!core_ || core_->closed) return;
  core_->closed = true;
  boost::system::error_code ignored;
  for (auto& l : core_->listeners) l->close();
  for (auto& s : core_->subscription_sockets) s->close(ignored);
  if (core_->stats_acceptor) core_->stats_acceptor->close(ignored);
}

int run_router(const router_config& cfg) {
  os::set_log_role("fastrouter");
  ::signal(SIGPIPE, SIG_IGN);
  asio::io_context io(1);
  os::result<std::unique_ptr<router_server>> server = router_server::open(cfg, io);
  if (!server) {
    os::log(server.error().message());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGQUIT);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    os::log("fastrouter: signal ", sig, ": stopping");
    (*server)->close();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace brood::router

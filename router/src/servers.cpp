// The router's servers: the accept loops of the fastrouter sockets, the subscription datagram
// sockets and the stats server.
#include <cerrno>
#include <ctime>
#include <system_error>

#include "brood/os/log.hpp"
#include "brood/wire/subscription.hpp"
#include "core.hpp"
#include "session.hpp"

namespace brood::router {
namespace {

struct datagram_reader : std::enable_shared_from_this<datagram_reader> {
  datagram_reader(core& c, datagram::socket& s) : c(c), s(s) {}
  void read() {
    s.async_receive(asio::buffer(buf), [self = shared_from_this()](
                                           const boost::system::error_code& ec, std::size_t n) {
      if (self->c.closed || ec == asio::error::operation_aborted) return;
      if (!ec) handle_datagram(self->c, wire::bytes_view(self->buf.data(), n));
      self->read();
    });
  }
  core& c;
  datagram::socket& s;
  std::array<std::uint8_t, wire::max_subscription_datagram> buf{};
};

std::string what_changed(table::change ch) {
  switch (ch) {
    case table::change::new_key_and_node:
    case table::change::new_node:
      return "new node";
    case table::change::refreshed:
      return "refreshed";
    case table::change::unsubscribed:
      return "removed node";
    case table::change::unknown_node:
      return "unsubscribe of an unknown node";
  }
  return "?";
}

}  // namespace

void start_accepting(core& c) {
  for (auto& l : c.listeners) {
    if (!c.loop.add(l->fd(), EPOLLIN, l.get()))
      os::log("fastrouter: epoll_ctl: ", std::error_code(errno, std::system_category()).message());
    l->on_events(EPOLLIN);  // connections queued before the registration
  }
  c.start_sweep();
}

void start_subscription_server(core& c, datagram::socket& s) {
  std::make_shared<datagram_reader>(c, s)->read();
}

void handle_datagram(core& c, wire::bytes_view datagram) {
  std::vector<wire::var> scratch;
  wire::subscription s;
  wire::bytes_view base;
  const wire::decode_result r = wire::decode_subscription(datagram, scratch, s, base);
  if (r.status != wire::decode_status::done) {
    c.bad_datagram_log.log("subscription: bad datagram of " + std::to_string(datagram.size()) +
                           " bytes dropped: " + r.why);
    return;
  }
  const std::int64_t wall = static_cast<std::int64_t>(std::time(nullptr));
  if (c.signer) {
    if (os::status st = c.signer->verify(s, base, wall); !st.ok()) {
      c.bad_datagram_log.log("subscription: dropped: " + st.message());
      return;
    }
    std::string id = std::string(s.key) + '\0' + std::string(s.address);
    auto seen = c.last_unix.find(id);
    if (seen != c.last_unix.end() && *s.unix_time <= seen->second) {
      c.bad_datagram_log.log("subscription: dropped a replayed datagram for \"" +
                             std::string(s.key) + "\" => " + std::string(s.address) + " (unix " +
                             std::to_string(*s.unix_time) + " not after " +
                             std::to_string(seen->second) + ")");
      return;
    }
    if (seen == c.last_unix.end() && c.last_unix.size() >= 65536) c.last_unix.clear();
    c.last_unix[std::move(id)] = *s.unix_time;
  }
  const table::change ch = c.subscriptions.apply(s, std::chrono::steady_clock::now(), wall);
  if (ch == table::change::refreshed) return;
  if (ch == table::change::new_key_and_node) os::log("subscription: new pool: ", s.key);
  os::log("subscription: ", s.key, " => ", what_changed(ch), ": ", s.address);
}

void start_stats_server(core& c) {
  if (!c.stats_acceptor) return;
  c.stats_acceptor->async_accept([&c](const boost::system::error_code& ec, stream::socket s) {
    if (c.closed || ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto doc = std::make_shared<std::string>(stats_json(c));
      auto sock = std::make_shared<stream::socket>(std::move(s));
      asio::async_write(*sock, asio::buffer(*doc),
                        [doc, sock](const boost::system::error_code&, std::size_t) {
                          boost::system::error_code ignored;
                          sock->shutdown(stream::socket::shutdown_both, ignored);
                          sock->close(ignored);
                        });
    }
    start_stats_server(c);
  });
}

}  // namespace brood::router

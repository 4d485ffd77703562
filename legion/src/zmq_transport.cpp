#include "zmq_transport.hpp"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <utility>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace brood::legion {
namespace {

constexpr int send_hwm = 64;  // messages queued per connection before sends are dropped
constexpr int receive_hwm = 1024;
constexpr int reconnect_ms = 50;  // a restarted member is reached again this fast
constexpr int reconnect_max_ms = 1000;
constexpr std::int64_t max_message = 70 * 1024;  // above decode_limits::max_frame: refused early

std::atomic<unsigned> monitor_serial{0};

void common_options(zmq::socket_t& s) {
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::ipv6, 1);
}

}  // namespace

std::string zmq_address(const endpoint& e) { return "tcp://" + e.text(); }

struct zmq_transport::impl {
  struct peer {
    std::string address;
    zmq::socket_t dealer;
    zmq::socket_t monitor;
  };
  zmq::context_t ctx{1};
  zmq::socket_t router;
  std::vector<peer> peers;
};

zmq_transport::zmq_transport(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
zmq_transport::~zmq_transport() = default;

std::unique_ptr<zmq_transport> zmq_transport::open(const endpoint& self,
                                                   const std::vector<endpoint>& peers,
                                                   std::string& error) {
  auto p = std::make_unique<impl>();
  try {
    p->router = zmq::socket_t(p->ctx, zmq::socket_type::router);
    common_options(p->router);
    p->router.set(zmq::sockopt::rcvhwm, receive_hwm);
    p->router.set(zmq::sockopt::sndhwm, send_hwm);
    p->router.set(zmq::sockopt::maxmsgsize, max_message);
    p->router.bind(zmq_address(self));
  } catch (const zmq::error_t& e) {
    error = "cannot bind " + self.text() + ": " + e.what();
    return nullptr;
  }
  for (const endpoint& e : peers) {
    if (e == self) continue;
    impl::peer q;
    q.address = e.text();
    try {
      q.dealer = zmq::socket_t(p->ctx, zmq::socket_type::dealer);
      common_options(q.dealer);
      q.dealer.set(zmq::sockopt::immediate, 1);
      q.dealer.set(zmq::sockopt::sndhwm, send_hwm);
      q.dealer.set(zmq::sockopt::rcvhwm, send_hwm);
      q.dealer.set(zmq::sockopt::maxmsgsize, max_message);
      q.dealer.set(zmq::sockopt::reconnect_ivl, reconnect_ms);
      q.dealer.set(zmq::sockopt::reconnect_ivl_max, reconnect_max_ms);
      const std::string mon = "inproc://brood-legion-monitor-" +
                              std::to_string(monitor_serial.fetch_add(1)) + "-" +
                              std::to_string(::getpid());
      if (zmq_socket_monitor(q.dealer.handle(), mon.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
        throw zmq::error_t();
      q.monitor = zmq::socket_t(p->ctx, zmq::socket_type::pair);
      q.monitor.set(zmq::sockopt::linger, 0);
      q.monitor.connect(mon);
      q.dealer.connect(zmq_address(e));
    } catch (const zmq::error_t& x) {
      error = "cannot connect to " + e.text() + ": " + x.what();
      return nullptr;
    }
    p->peers.push_back(std::move(q));
  }
  return std::unique_ptr<zmq_transport>(new zmq_transport(std::move(p)));
}

bool zmq_transport::send(const std::string& to, const std::vector<std::uint8_t>& frame) {
  bool sent = false;
  for (impl::peer& q : impl_->peers) {
    if (!to.empty() && q.address != to) continue;
    try {
      if (q.dealer.send(zmq::const_buffer(frame.data(), frame.size()), zmq::send_flags::dontwait))
        sent = true;
    } catch (const zmq::error_t&) {
      // EHOSTUNREACH and the like: the same as a message lost in transit.
    }
  }
  return sent;
}

void zmq_transport::reply(const inbound_frame& to, const std::vector<std::uint8_t>& frame) {
  try {
    zmq::socket_t& r = impl_->router;
    r.send(zmq::buffer(to.routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (to.delimiter) r.send(zmq::const_buffer(nullptr, 0), zmq::send_flags::sndmore);
    r.send(zmq::const_buffer(frame.data(), frame.size()), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // The asker is gone: nobody to answer.
  }
}

void zmq_transport::poll(std::chrono::milliseconds timeout, int wake_fd,
                         std::vector<inbound_frame>& in, std::vector<std::string>& lost) {
  std::vector<zmq::pollitem_t> items;
  items.push_back({impl_->router.handle(), 0, ZMQ_POLLIN, 0});
  for (impl::peer& q : impl_->peers) items.push_back({q.monitor.handle(), 0, ZMQ_POLLIN, 0});
  if (wake_fd >= 0) items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
  try {
    zmq::poll(items, timeout);
  } catch (const zmq::error_t&) {
    return;  // EINTR: the caller loops
  }
  if (wake_fd >= 0 && (items.back().revents & ZMQ_POLLIN)) {
    std::uint64_t n = 0;
    (void)::read(wake_fd, &n, sizeof n);
  }
  for (;;) {
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(impl_->router, std::back_inserter(parts), zmq::recv_flags::dontwait))
      break;
    if (parts.size() < 2) continue;
    inbound_frame f;
    f.routing_id = parts.front().to_string();
    f.delimiter = parts.size() == 3 && parts[1].size() == 0;
    const zmq::message_t& body = parts.back();
    f.body.assign(body.data<std::uint8_t>(), body.data<std::uint8_t>() + body.size());
    try {
      f.peer = parts.back().gets("Peer-Address");
      if (f.peer.rfind("::ffff:", 0) == 0) f.peer.erase(0, 7);  // IPv4 on the dual-stack socket
    } catch (const zmq::error_t&) {
      f.peer = "unknown";
    }
    in.push_back(std::move(f));
  }
  for (impl::peer& q : impl_->peers) {
    for (;;) {
      std::vector<zmq::message_t> ev;
      if (!zmq::recv_multipart(q.monitor, std::back_inserter(ev), zmq::recv_flags::dontwait)) break;
      if (ev.empty() || ev[0].size() < sizeof(std::uint16_t)) continue;
      std::uint16_t id = 0;
      std::memcpy(&id, ev[0].data(), sizeof id);
      if (id == ZMQ_EVENT_DISCONNECTED) lost.push_back(q.address);
    }
  }
}

void zmq_transport::linger_on_close(std::chrono::milliseconds t) {
  const int ms = static_cast<int>(t.count());
  impl_->router.set(zmq::sockopt::linger, ms);
  for (impl::peer& q : impl_->peers) q.dealer.set(zmq::sockopt::linger, ms);
}

}  // namespace brood::legion

// subscriber: the datagrams of a round, and os_datagram_out.
#include "subscriber.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "brood/os/address.hpp"
#include "brood/os/log.hpp"
#include "brood/os/socket_address.hpp"
#include "brood/wire/subscription.hpp"

namespace brood::node {

os_datagram_out::~os_datagram_out() {
  for (int fd : {udp4_, udp6_, unix_})
    if (fd >= 0) ::close(fd);
}

std::string os_datagram_out::send_to(const std::string& server, wire::bytes_view packet) {
  auto parsed = os::parse_address(server);
  if (!parsed) return parsed.error().message();
  auto resolved = os::resolve_address(*parsed, os::resolve_for::connect);
  if (!resolved) return resolved.error().message();
  const int family = resolved->family();
  int& fd = family == AF_INET ? udp4_ : family == AF_INET6 ? udp6_ : unix_;
  if (fd < 0) {
    fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  }
  const ssize_t n =
      ::sendto(fd, packet.data(), packet.size(), MSG_NOSIGNAL, resolved->get(), resolved->size);
  if (n < 0) return std::string("sendto: ") + std::strerror(errno);
  return {};
}

struct subscriber::target {
  const subscription_target& cfg;
  std::string address;
  std::unique_ptr<subscription_signer> signer;
  bool sent_ok = false;    // the last datagram went out
  std::string last_error;  // logged once
};

subscriber::subscriber(const subscription_config& cfg, subscriber_node node, datagram_out& out)
    : cfg_(cfg), node_(std::move(node)), out_(out) {
  for (const subscription_target& t : cfg_.targets) {
    auto tg = std::make_unique<target>(target{t, {}, nullptr, false, {}});
    const std::string where = "subscription \"" + t.origin + "\": ";
    if (!t.addr.empty()) {
      tg->address = t.addr;
    } else if (!t.socket_name.empty()) {
      tg->address = t.socket_name;
      for (std::size_t i = 0; i < node_.configured.size() && i < node_.bound.size(); ++i)
        if (node_.configured[i] == t.socket_name) {
          tg->address = node_.bound[i];
          break;
        }
    } else if (t.socket) {
      if (*t.socket >= node_.bound.size())
        throw std::invalid_argument(where + "the node has no socket " + std::to_string(*t.socket) +
                                    " (it has " + std::to_string(node_.bound.size()) + ")");
      tg->address = node_.bound[*t.socket];
    } else {
      if (node_.bound.empty())
        throw std::invalid_argument(where + "the node has no socket to announce (give addr=)");
      tg->address = node_.bound.front();
    }
    if (tg->address.size() > wire::max_subscription_field)
      throw std::invalid_argument(where + "the address is longer than 255 bytes");
    if (!t.sign.empty()) {
      try {
        tg->signer = std::make_unique<subscription_signer>(t.sign);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(where + e.what());
      }
    }
    targets_.push_back(std::move(tg));
  }
}

subscriber::~subscriber() = default;

std::vector<subscriber::view> subscriber::targets() const {
  std::vector<view> v;
  for (const auto& t : targets_) v.push_back({t->cfg.server, t->cfg.key, t->address});
  return v;
}

std::size_t subscriber::round(bool unsubscribe, std::uint64_t load, std::int64_t unix_now) {
  std::size_t sent = 0;
  for (auto& tp : targets_) {
    target& t = *tp;
    if (!t.cfg.check.empty() && ::access(t.cfg.check.c_str(), F_OK) == 0) continue;
    const std::uint8_t m1 = t.cfg.modifier1.value_or(cfg_.with_modifier1.value_or(0));
    if (t.cfg.key.size() > 1 && t.cfg.key[0] == '@') {
      const std::string file = t.cfg.key.substr(1);
      std::ifstream in(file);
      std::stringstream text;
      if (in) text << in.rdbuf();
      if (!in) {
        const std::string why = "cannot read the key list " + file;
        if (why != t.last_error) os::log("subscription \"", t.cfg.origin, "\": ", why);
        t.last_error = why;
        t.sent_ok = false;
        continue;
      }
      try {
        for (const auto& [key, key_m1] : parse_key_list(text.str()))
          sent += send_one(t, key, key_m1.value_or(m1), unsubscribe, load, unix_now) ? 1 : 0;
      } catch (const std::invalid_argument& e) {
        const std::string why = "key list " + file + ": " + e.what();
        if (why != t.last_error) os::log("subscription \"", t.cfg.origin, "\": ", why);
        t.last_error = why;
        t.sent_ok = false;
      }
    } else {
      sent += send_one(t, t.cfg.key, m1, unsubscribe, load, unix_now) ? 1 : 0;
    }
  }
  return sent;
}

bool subscriber::send_one(target& t, const std::string& key, std::uint8_t m1, bool unsubscribe,
                          std::uint64_t load, std::int64_t unix_now) {
  wire::subscription s;
  s.unsubscribe = unsubscribe;
  s.key = key;
  s.address = t.address;
  s.modifier1 = m1;
  s.modifier2 = t.cfg.modifier2;
  s.cores = node_.cores;
  s.load = load;
  s.weight = t.cfg.weight.value_or(cfg_.auto_weight ? node_.cores : cfg_.weight);
  s.sni_key = t.cfg.sni_key;
  s.sni_crt = t.cfg.sni_crt;
  s.sni_ca = t.cfg.sni_ca;
  s.notify = cfg_.notify_socket;
  s.keepalive = t.cfg.keepalive;
  // As uWSGI: a withdrawal carries now + 1, so that it passes a router's anti-replay check
  // (strictly newer than the last datagram seen) even within the second of an announcement.
  if (t.signer) s.unix_time = static_cast<std::uint64_t>(unix_now) + (unsubscribe ? 1 : 0);
  std::string why;
  if (const std::error_code ec = wire::encode_subscription(s, packet_)) {
    why = "cannot encode key \"" + key + "\": " + ec.message();
  } else if (t.signer) {
    const wire::bytes sig = t.signer->sign(wire::subscription_signed_base(packet_));
    if (sig.empty())
      why = "signing failed (" + t.signer->spec() + ")";
    else if (const std::error_code e2 = wire::append_subscription_sign(packet_, sig))
      why = "cannot append the signature: " + e2.message();
  }
  if (why.empty()) why = out_.send_to(t.cfg.server, packet_);
  if (!why.empty()) {
    if (why != t.last_error)
      os::log("subscription \"", t.cfg.origin, "\" to ", t.cfg.server, ": ", why);
    t.last_error = why;
    t.sent_ok = false;
    return false;
  }
  if (!t.sent_ok || unsubscribe)
    os::log(unsubscribe ? "unsubscribing from " : "subscribing to ", t.cfg.origin, " (key ", key,
            ", address ", t.address, ")");
  t.sent_ok = !unsubscribe;
  t.last_error.clear();
  return true;
}

}  // namespace brood::node

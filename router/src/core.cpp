#include "core.hpp"

#include "brood/os/address.hpp"
#include "brood/os/log.hpp"

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

const std::string* core::next_static_node() {
  if (cfg.static_nodes.empty()) return nullptr;
  return &cfg.static_nodes[static_next++ % cfg.static_nodes.size()];
}

}  // namespace brood::router

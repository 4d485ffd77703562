#pragma once
// The router's configuration (uWSGI's fastrouter options, docs/config.md "Router").
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "brood/router/table.hpp"

namespace brood::router {

struct router_config {
  std::vector<std::string> sockets;               // fastrouter: uwsgi sockets clients connect to
  std::vector<std::string> subscription_servers;  // fastrouter-subscription-server: datagrams
  std::vector<std::string> static_nodes;          // fastrouter-to: used round-robin
  std::string fallback_key;                       // fastrouter-subscription-fallback-key
  bool dotsplit = false;                          // subscription-dotsplit
  algorithm algo = algorithm::wrr;                // subscription-algo
  std::chrono::seconds tolerance{17};             // subscription-tolerance
  std::chrono::seconds timeout{60};               // fastrouter-timeout: idle session limit
  std::uint32_t max_retries = 3;                  // fastrouter-max-retries
  std::string stats;                              // fastrouter-stats: JSON on each connection
  std::string sign_check_digest;                  // subscriptions-sign-check DIGEST:DIR
  std::string sign_check_dir;
  std::chrono::seconds sign_tolerance{0};  // subscriptions-sign-check-tolerance (0: not checked)
  std::uint32_t processes = 1;             // fastrouter-processes (each with its own table)
  std::size_t buffer_size = 4096;          // largest request header + vars (buffer-size)

  bool wanted() const noexcept { return !sockets.empty(); }
};

}  // namespace brood::router

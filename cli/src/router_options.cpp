#include "router_options.hpp"

#include <string>

#include "option_values.hpp"

namespace brood::cli {

po::options_description router_option_group(unsigned help_width) {
  po::options_description r("Router (fastrouter)", help_width, help_width / 2);
  r.add_options()  //
      ("fastrouter", address_list_value(),
       "run a router: accept uwsgi requests on ADDR and forward each to a node picked by its "
       "key; repeatable")("fastrouter-subscription-server", address_list_value(),
                          "take subscription datagrams (modifier1 224) on ADDR: HOST:PORT "
                          "(UDP) or a unix datagram socket path; repeatable")(
          "fastrouter-to", string_list_value()->value_name("ADDR"),
          "a static node: requests no subscribed node takes go to these, round-robin; "
          "repeatable")("fastrouter-subscription-fallback-key",
                        po::value<std::string>()->value_name("KEY"),
                        "the key tried when a request's own key has no node")(
          "subscription-dotsplit", flag_value(),
          "also try the key cut at each next dot (www.a.com, .a.com, .com), up to 5 tries")(
          "subscription-algo", choice_value({"wrr", "lrc", "wlrc"})->default_value("wrr"),
          "how a node is picked among a key's nodes: wrr (weighted round robin), lrc (least "
          "requests in flight), wlrc (least requests in flight per weight)")(
          "subscription-tolerance", uint_value(1, 86400)->default_value(17)->value_name("SECONDS"),
          "a node not refreshed by a subscription for this long is dropped")(
          "fastrouter-timeout", uint_value(1, 86400)->default_value(60)->value_name("SECONDS"),
          "close a router session idle for this long")(
          "fastrouter-max-retries", uint_value(0, 100)->default_value(3)->value_name("N"),
          "try at most N other nodes when a node refuses or dies before answering (brood: uWSGI "
          "has this fixed at 3)")(
          "fastrouter-stats", po::value<std::string>()->value_name("ADDR"),
          "serve the router's state as JSON (uWSGI's fastrouter stats format) on ADDR")(
          "fastrouter-stats-server", po::value<std::string>()->value_name("ADDR"),
          "same as --fastrouter-stats")("fastrouter-ss",
                                        po::value<std::string>()->value_name("ADDR"),
                                        "same as --fastrouter-stats")(
          "fastrouter-buffer-size", uint_value(1, 65535)->value_name("BYTES"),
          "largest request vars block the router accepts (default: buffer-size)")(
          "subscriptions-sign-check", po::value<std::string>()->value_name("DIGEST:DIR"),
          "accept only subscriptions signed (RSA, DIGEST such as sha256) with the private key "
          "whose public key is DIR/KEY.pem")(
          "subscriptions-sign-check-tolerance",
          uint_value(0, 86400)->default_value(0)->value_name("SECONDS"),
          "a signed subscription's unix time may be this much older than the router's clock");
  return r;
}

router::router_config to_router_config(const po::variables_map& vm) {
  router::router_config cfg;
  cfg.sockets = strings(vm, "fastrouter");
  cfg.subscription_servers = strings(vm, "fastrouter-subscription-server");
  cfg.static_nodes = strings(vm, "fastrouter-to");
  if (vm.count("fastrouter-subscription-fallback-key"))
    cfg.fallback_key = vm["fastrouter-subscription-fallback-key"].as<std::string>();
  cfg.dotsplit = vm["subscription-dotsplit"].as<bool>();
  cfg.algo = *router::parse_algorithm(vm["subscription-algo"].as<std::string>());
  cfg.tolerance = std::chrono::seconds(number(vm, "subscription-tolerance"));
  cfg.timeout = std::chrono::seconds(number(vm, "fastrouter-timeout"));
  cfg.max_retries = static_cast<std::uint32_t>(number(vm, "fastrouter-max-retries"));
  if (vm.count("fastrouter-stats")) cfg.stats = vm["fastrouter-stats"].as<std::string>();
  cfg.buffer_size = vm.count("fastrouter-buffer-size") ? number(vm, "fastrouter-buffer-size")
                                                       : number(vm, "buffer-size");
  if (vm.count("subscriptions-sign-check")) {
    const std::string spec = vm["subscriptions-sign-check"].as<std::string>();
    const std::size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
      throw option_error("subscriptions-sign-check: '" + spec + "' is not DIGEST:DIR");
    cfg.sign_check_digest = spec.substr(0, colon);
    cfg.sign_check_dir = spec.substr(colon + 1);
  }
  cfg.sign_tolerance = std::chrono::seconds(number(vm, "subscriptions-sign-check-tolerance"));
  if (!cfg.sockets.empty() && cfg.subscription_servers.empty() && cfg.static_nodes.empty())
    throw option_error(
        "fastrouter: no node source (use --fastrouter-subscription-server ADDR or "
        "--fastrouter-to ADDR)");
  return cfg;
}

}  // namespace brood::cli

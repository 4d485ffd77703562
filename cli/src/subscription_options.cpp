#include "subscription_options.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

#include "option_values.hpp"

namespace brood::cli {

po::options_description subscription_option_group(unsigned help_width) {
  po::options_description g("Subscriptions", help_width, help_width / 2);
  g.add_options()  //
      ("subscribe-to", string_list_value()->value_name("[NAME=]SERVER:KEY[,M1[,SIGN]]"),
       "announce this node to the router listening for subscriptions on SERVER (host:port: "
       "UDP; /path: unix datagram) under KEY (@FILE: one key per line); =N= announces socket "
       "N; repeatable (implies master)")("subscribe", string_list_value(),
                                         "same as --subscribe-to")("st", string_list_value(),
                                                                   "same as --subscribe-to")(
          "subscribe2", string_list_value()->value_name("server=..,key=..[,...]"),
          "announce this node, key=value form: server, key, socket, addr, weight, modifier1, "
          "modifier2, sign, check, sni_key, sni_crt, sni_ca; repeatable (implies master)")(
          "subscribe-freq", uint_value(1, 86400)->default_value(10)->value_name("SECONDS"),
          "send the subscriptions again this often")(
          "weight", uint_value(0, UINT32_MAX)->default_value(0)->value_name("N"),
          "the weight announced in subscriptions (0 counts as 1 in the routers)")(
          "auto-weight", flag_value(), "announce processes * threads as the weight")(
          "subscribe-with-modifier1", uint_value(0, 255)->value_name("N"),
          "the modifier1 announced when a subscription names none")(
          "start-unsubscribed", flag_value(),
          "configure the subscriptions but send none until the master FIFO's S")(
          "subscription-notify-socket", po::value<std::string>()->value_name("PATH"),
          "announce this unix datagram socket as `notify` in every subscription")(
          "unsubscribe-on-graceful-reload", flag_value(),
          "withdraw the subscriptions during a graceful reload (announced again after it)");
  return g;
}

namespace {

template <class Parse>
void add_targets(const po::variables_map& vm, const char* name, Parse parse,
                 std::vector<node::subscription_target>& out) {
  for (const std::string& v : strings(vm, name)) {
    try {
      out.push_back(parse(v));
    } catch (const std::invalid_argument& e) {
      throw option_error(std::string("invalid value for option '") + name + "': " + e.what());
    }
  }
}

}  // namespace

void apply_subscription_options(const po::variables_map& vm, node::node_config& cfg) {
  node::subscription_config& s = cfg.subscription;
  add_targets(vm, "subscribe-to", node::parse_subscribe_to, s.targets);
  add_targets(vm, "subscribe2", node::parse_subscribe2, s.targets);
  s.freq = std::chrono::seconds(number(vm, "subscribe-freq"));
  s.weight = number(vm, "weight");
  s.auto_weight = vm["auto-weight"].as<bool>();
  if (vm.count("subscribe-with-modifier1"))
    s.with_modifier1 =
        static_cast<std::uint8_t>(vm["subscribe-with-modifier1"].as<std::uint64_t>());
  s.start_unsubscribed = vm["start-unsubscribed"].as<bool>();
  s.notify_socket = text(vm, "subscription-notify-socket");
  s.unsubscribe_on_graceful_reload = vm["unsubscribe-on-graceful-reload"].as<bool>();
  if (s.any()) cfg.master = true;  // the master sends them
}

}  // namespace brood::cli

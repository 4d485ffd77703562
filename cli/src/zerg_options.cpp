#include "zerg_options.hpp"

#include <string>

#include "option_values.hpp"

namespace brood::cli {

po::options_description zerg_option_group(unsigned help_width) {
  po::options_description zerg("Zerg mode", help_width, help_width / 2);
  zerg.add_options()  //
      ("zerg-server", po::value<std::string>()->value_name("PATH"),
       "hand the node's listening sockets to zergs connecting to the unix socket PATH (mode "
       "0600, same uid or root only; implies master)")(
          "zerg", string_list_value()->value_name("PATH"),
          "attach to the listening sockets of the zerg server at PATH instead of binding them; "
          "repeatable")("zerg-fallback", flag_value(),
                        "when attaching to a zerg server fails, bind the configured sockets "
                        "instead of exiting")(
          "reuse-port", flag_value(),
          "set SO_REUSEPORT on the TCP sockets the node binds, so that independent instances "
          "can share a port");
  return zerg;
}

void apply_zerg_options(const po::variables_map& vm, node::node_config& cfg) {
  if (vm.count("zerg-server")) cfg.zerg_server = vm["zerg-server"].as<std::string>();
  if (!cfg.zerg_server.empty()) cfg.master = true;  // the master serves the zergs
  cfg.zergs = strings(vm, "zerg");
  cfg.zerg_fallback = vm["zerg-fallback"].as<bool>();
  cfg.reuse_port = vm["reuse-port"].as<bool>();
}

}  // namespace brood::cli

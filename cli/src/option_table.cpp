#include "option_table.hpp"

#include <chrono>
#include <cstdint>
#include <utility>

#include "option_values.hpp"

namespace brood::cli {
namespace {

constexpr std::uint64_t max_processes = 4096;
constexpr std::uint64_t max_seconds = 86400;
constexpr unsigned help_width = 100;

// Long aliases of an option: the alias is parsed like its target, then renamed to it.
constexpr std::pair<std::string_view, std::string_view> aliases[] = {
    {"uwsgi-socket", "socket"},
    {"workers", "processes"},
    {"worker-reload-mercy", "reload-mercy"},
};

po::options_description build_table() {
  po::options_description general("General", help_width, help_width / 2);
  general.add_options()  //
      ("help,h", po::bool_switch(), "print this help and exit")("version", po::bool_switch(),
                                                                "print the version and exit")(
          "ini", string_list_value()->value_name("FILE[:SECTION]"),
          "load options from an ini file: its [uwsgi] section, else [brood], or SECTION; "
          "repeatable, and allowed inside ini files");

  po::options_description node("Node", help_width, help_width / 2);
  node.add_options()  //
      ("socket,s", address_list_value(),
       "bind a uwsgi socket: HOST:PORT, :PORT (all interfaces) or a unix socket path; "
       "repeatable")("uwsgi-socket", address_list_value(), "same as --socket")(
          "processes,p", uint_value(1, max_processes)->default_value(1),
          "number of worker processes")("workers", uint_value(1, max_processes),
                                        "same as --processes")(
          "master,M", flag_value(), "run a master process (implied by processes > 1)")(
          "buffer-size,b", uint_value(1, 65535)->default_value(4096),
          "largest request packet accepted, in bytes (the vars block or message, body excluded)")(
          "max-vars,v", uint_value(1, 16384)->default_value(64),
          "a vars block may hold at most 2 * max-vars key/value pairs")(
          "listen,l", uint_value(1, 65535)->default_value(100),
          "listen queue (backlog) of every socket")(
          "socket-timeout,z", uint_value(1, max_seconds)->default_value(4)->value_name("SECONDS"),
          "a client must send its whole request, and take the answer, within this many seconds")(
          "keepalive-timeout", uint_value(1, max_seconds)->default_value(60)->value_name("SECONDS"),
          "close a kept-alive connection idle for this many seconds (brood)")(
          "reload-mercy", uint_value(0, max_seconds)->default_value(60)->value_name("SECONDS"),
          "on stop or reload, give workers this long to finish their requests, then kill them")(
          "worker-reload-mercy", uint_value(0, max_seconds)->value_name("SECONDS"),
          "same as --reload-mercy");

  po::options_description all;
  all.add(general).add(node);
  return all;
}

std::uint64_t number(const po::variables_map& vm, const char* name) {
  return vm[name].as<std::uint64_t>();
}

}  // namespace

const po::options_description& option_table() {
  static const po::options_description table = build_table();
  return table;
}

std::string canonical_option(std::string_view name) {
  for (auto [alias, target] : aliases)
    if (name == alias) return std::string(target);
  return std::string(name);
}

node::node_config to_node_config(const po::variables_map& vm) {
  using std::chrono::seconds;
  node::node_config cfg;
  if (vm.count("socket")) cfg.sockets = vm["socket"].as<std::vector<std::string>>();
  cfg.processes = static_cast<unsigned>(number(vm, "processes"));
  cfg.master = vm["master"].as<bool>() || cfg.processes > 1;
  cfg.limits.buffer_size = number(vm, "buffer-size");
  cfg.limits.max_vars = number(vm, "max-vars");
  cfg.listen_queue = static_cast<int>(number(vm, "listen"));
  cfg.socket_timeout = seconds(number(vm, "socket-timeout"));
  cfg.keepalive_timeout = seconds(number(vm, "keepalive-timeout"));
  cfg.reload_mercy = seconds(number(vm, "reload-mercy"));
  return cfg;
}

}  // namespace brood::cli

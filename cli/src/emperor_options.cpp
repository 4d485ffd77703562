#include "emperor_options.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "legion_options.hpp"
#include "option_values.hpp"

namespace brood::cli {
namespace {

constexpr std::uint64_t max_zergs = 10000;
constexpr std::size_t max_unix_path = 107;  // sizeof(sockaddr_un::sun_path) - 1

}  // namespace

po::options_description emperor_option_group(unsigned help_width) {
  po::options_description e("Emperor", help_width, help_width / 2);
  e.add_options()  //
      ("emperor", string_list_value()->value_name("DIR|GLOB"),
       "run an emperor: start a vassal (`brood --ini FILE`) for each vassal file (*.ini) in DIR "
       "or matching GLOB, reload it when the file changes, stop it when the file goes; "
       "repeatable")("emperor-freq",
                     uint_value(1, max_seconds)->default_value(3)->value_name("SECONDS"),
                     "rescan the vassal files this often (changes are seen at once anyway)")(
          "emperor-throttle",
          uint_value(1, max_milliseconds)->default_value(1000)->value_name("MS"),
          "respawn delay of a vassal that died without ever serving a request; doubles with "
          "each further death")(
          "emperor-max-throttle",
          uint_value(1, max_milliseconds)->default_value(180000)->value_name("MS"),
          "the longest respawn delay of a crash-looping vassal")(
          "emperor-required-heartbeat",
          uint_value(1, max_seconds)->default_value(30)->value_name("SECONDS"),
          "kill a vassal that sent a heartbeat and then none for this long")(
          "emperor-curse-tolerance",
          uint_value(0, max_seconds)->default_value(30)->value_name("SECONDS"),
          "kill a vassal still alive this long after it was told to stop")(
          "emperor-graceful-shutdown", flag_value(),
          "stop vassals gracefully (let requests finish) instead of at once")(
          "emperor-no-blacklist", flag_value(), "respawn a crash-looping vassal without delay")(
          "emperor-wrapper", po::value<std::string>()->value_name("PROGRAM"),
          "run vassals with PROGRAM (for example /usr/bin/uwsgi) instead of brood")(
          "vassals-inherit", string_list_value()->value_name("FILE"),
          "add `--inherit FILE` to every vassal's command line; repeatable")(
          "vassals-include", string_list_value()->value_name("FILE"),
          "add `--include FILE` to every vassal's command line; repeatable")(
          "vassal-set", string_list_value()->value_name("KEY=VALUE"),
          "add `--set KEY=VALUE` to every vassal's command line; repeatable")(
          "vassals-set", string_list_value()->value_name("KEY=VALUE"), "same as --vassal-set")(
          "emperor-on-demand-extension", po::value<std::string>()->value_name("EXT"),
          "a vassal FILE with a file FILE+EXT is started on its first connection, on the socket "
          "FILE+EXT names")("emperor-on-demand-ext", po::value<std::string>()->value_name("EXT"),
                            "same as --emperor-on-demand-extension")(
          "emperor-on-demand-directory", po::value<std::string>()->value_name("DIR"),
          "vassal NAME.ini is started on its first connection to the unix socket DIR/NAME.socket")(
          "emperor-on-demand-dir", po::value<std::string>()->value_name("DIR"),
          "same as --emperor-on-demand-directory")(
          "emperor-broodlord", uint_value(0, max_zergs)->default_value(0)->value_name("N"),
          "broodlord: a vassal's SOS starts a zerg (its file's [zerg] section, `--ini FILE:zerg`), "
          "at most N zergs in all; 0: off")(
          "emperor-stats", po::value<std::string>()->value_name("ADDR"),
          "serve the emperor's state as JSON on ADDR (HOST:PORT or a unix socket path)")(
          "emperor-stats-server", po::value<std::string>()->value_name("ADDR"),
          "same as --emperor-stats")(
          "emperor-use-fork-server", po::value<std::string>()->value_name("PATH"),
          "adopt vassals: ask the fork server (a base vassal with `fork-server = PATH`) to fork "
          "each vassal that is not a vassal-fork-base, instead of exec'ing it; if that fails the "
          "vassal is exec'd")(
          "emperor-fork-server-attr", po::value<std::string>()->value_name("NAME"),
          "a vassal whose ini file has NAME = PATH in its [emperor] section is adopted from the "
          "fork server PATH")(
          "vassal-fork-base", string_list_value()->value_name("NAME"),
          "the vassal NAME (file name, with or without its extension) is a fork server base: "
          "exec'd, restarted when its file changes, then its adopted vassals are re-forked one "
          "at a time; repeatable")(
          "emperor-subreaper", flag_value(),
          "make the emperor a child subreaper (implied by the fork server options)");
  return e;
}

emperor::emperor_config to_emperor_config(const po::variables_map& vm) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  emperor::emperor_config c;
  for (const std::string& src : strings(vm, "emperor")) {
    if (src.rfind("legion:", 0) != 0) {
      c.sources.push_back(src);
      continue;
    }
    const std::string rest = src.substr(7);
    const std::size_t comma = rest.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == rest.size())
      throw option_error("emperor: '" + src + "' is not legion:NAME,DIR");
    if (!c.placement.legion.empty())
      throw option_error("emperor: '" + src + "': only one legion:NAME,DIR per emperor");
    c.placement.legion = rest.substr(0, comma);
    c.placement.dir = rest.substr(comma + 1);
  }
  c.freq = seconds(number(vm, "emperor-freq"));
  c.throttle = milliseconds(number(vm, "emperor-throttle"));
  c.max_throttle = milliseconds(number(vm, "emperor-max-throttle"));
  if (c.max_throttle < c.throttle)
    throw option_error("emperor-max-throttle (" + std::to_string(c.max_throttle.count()) +
                       " ms) is less than emperor-throttle (" + std::to_string(c.throttle.count()) +
                       " ms)");
  c.required_heartbeat = seconds(number(vm, "emperor-required-heartbeat"));
  c.curse_tolerance = seconds(number(vm, "emperor-curse-tolerance"));
  c.graceful_shutdown = vm["emperor-graceful-shutdown"].as<bool>();
  c.no_blacklist = vm["emperor-no-blacklist"].as<bool>();
  c.wrapper = text(vm, "emperor-wrapper");
  c.vassals_inherit = strings(vm, "vassals-inherit");
  c.vassals_include = strings(vm, "vassals-include");
  c.vassal_set = strings(vm, "vassal-set");
  c.on_demand_extension = text(vm, "emperor-on-demand-extension");
  c.on_demand_directory = text(vm, "emperor-on-demand-directory");
  c.listen_queue = static_cast<int>(number(vm, "listen"));
  c.broodlord = static_cast<unsigned>(number(vm, "emperor-broodlord"));
  c.stats = text(vm, "emperor-stats");
  c.mercy = seconds(number(vm, "reload-mercy"));
  c.fork_server = text(vm, "emperor-use-fork-server");
  if (c.fork_server.size() > max_unix_path)
    throw option_error("emperor-use-fork-server: the unix socket path \"" + c.fork_server +
                       "\" is longer than " + std::to_string(max_unix_path) + " bytes");
  c.fork_server_attr = text(vm, "emperor-fork-server-attr");
  c.fork_bases = strings(vm, "vassal-fork-base");
  c.subreaper = vm["emperor-subreaper"].as<bool>();
  c.legion = to_legion_config(vm);
  if (!c.placement.legion.empty() && c.legion.find(c.placement.legion) == nullptr)
    throw option_error("emperor: legion:" + c.placement.legion + "," + c.placement.dir +
                       ": no legion '" + c.placement.legion +
                       "' is declared (legion = NAME ADDR VALOR SECRET)");
  return c;
}

}  // namespace brood::cli

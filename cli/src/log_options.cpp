#include "log_options.hpp"

#include <chrono>
#include <string>

#include "option_values.hpp"

namespace brood::cli {

po::options_description log_option_group(unsigned help_width) {
  po::options_description group("Logging", help_width, help_width / 2);
  group.add_options()  //
      ("disable-logging", flag_value(),
       "no request log lines (the log-4xx, log-5xx, log-slow, log-big and log-zero lines are "
       "still written)")("log-4xx", flag_value(), "log the requests answered 4xx")(
          "log-5xx", flag_value(), "log the requests answered 5xx")(
          "log-slow", uint_value(0, 86400000)->value_name("MSECS"),
          "log the requests slower than MSECS milliseconds")(
          "log-big", uint_value(0, UINT64_MAX)->value_name("BYTES"),
          "log the requests whose reply body is bigger than BYTES")(
          "log-zero", flag_value(), "log the requests whose reply body is empty")(
          "log-format", po::value<std::string>()->value_name("FORMAT"),
          "the request line, with uWSGI's %(name) variables (method, uri, status, addr, msecs, "
          "size, ltime, ...)")("logformat", po::value<std::string>()->value_name("FORMAT"),
                               "same as --log-format")(
          "logto", po::value<std::string>()->value_name("FILE"),
          "write the node's output (every process) to FILE, appended")(
          "logto2", po::value<std::string>()->value_name("FILE"), "same as --logto")(
          "daemonize", po::value<std::string>()->value_name("FILE"),
          "detach from the terminal and write the output to FILE")(
          "daemonize2", po::value<std::string>()->value_name("FILE"), "same as --daemonize")(
          "log-maxsize", uint_value(0, UINT64_MAX)->value_name("BYTES"),
          "with logto or daemonize: rename the log file once it reaches BYTES and start a new "
          "one")("log-backupname", po::value<std::string>()->value_name("NAME"),
                 "the name of the rotated log file (default: FILE.UNIXTIME)");
  return group;
}

void apply_log_options(const po::variables_map& vm, node::node_config& cfg) {
  node::log_config& log = cfg.log;
  log.disable_logging = vm["disable-logging"].as<bool>();
  log.log_4xx = vm["log-4xx"].as<bool>();
  log.log_5xx = vm["log-5xx"].as<bool>();
  log.log_zero = vm["log-zero"].as<bool>();
  if (vm.count("log-slow"))
    log.log_slow = std::chrono::milliseconds(vm["log-slow"].as<std::uint64_t>());
  if (vm.count("log-big")) log.log_big = vm["log-big"].as<std::uint64_t>();
  log.log_format = text(vm, "log-format");
  if (log.log_format.empty()) log.log_format = text(vm, "logformat");
  for (const char* name : {"logto", "logto2"})
    if (!text(vm, name).empty()) log.logto = text(vm, name);
  for (const char* name : {"daemonize", "daemonize2"}) {
    if (text(vm, name).empty()) continue;
    log.daemonize = true;
    log.logto = text(vm, name);
  }
  if (vm.count("log-maxsize")) log.log_maxsize = vm["log-maxsize"].as<std::uint64_t>();
  log.log_backupname = text(vm, "log-backupname");
}

}  // namespace brood::cli

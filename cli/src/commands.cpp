#include "commands.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>

#include "brood/client/client.hpp"
#include "brood/client/spool.hpp"
#include "brood/os/address.hpp"
#include "brood/wire/modifier.hpp"
#include "json_value.hpp"
#include "option_values.hpp"

namespace brood::cli {
namespace {

constexpr double default_timeout_seconds = 5;

int usage_error(const std::string& what) {
  std::cerr << "brood: " << what << "\n";
  return 2;
}

// Parses a subcommand's words: exactly one ADDR and the options of `desc`.
// Throws option_error / po::error on bad usage.
// With `with_vars`, the words after ADDR are kept as "vars".
po::variables_map parse_words(const std::vector<std::string>& args, po::options_description desc,
                              const char* command, bool with_vars = false) {
  desc.add_options()("address", po::value<std::string>(), "");
  po::positional_options_description positional;
  positional.add("address", 1);
  if (with_vars) {
    desc.add_options()("vars", po::value<std::vector<std::string>>(), "");
    positional.add("vars", -1);
  }
  int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(positional).style(style).run(),
            vm);
  po::notify(vm);
  if (!vm["help"].as<bool>()) {
    if (!vm.count("address"))
      throw option_error(std::string(command) + ": missing ADDR (brood " + command + " --help)");
    if (auto a = os::parse_address(vm["address"].as<std::string>()); !a)
      throw option_error(std::string(command) + ": bad address: " + a.error().message());
  }
  return vm;
}

// Wraps the parser's own errors into option_error with the subcommand's name.
template <class F>
std::optional<po::variables_map> parse_or_report(F&& parse, const char* command, int& status) {
  try {
    return parse();
  } catch (const option_error& e) {
    status = usage_error(e.what());
  } catch (const po::unknown_option& e) {
    status = usage_error(std::string(command) + ": unknown option '" + e.get_option_name() + "'");
  } catch (const po::error& e) {
    status = usage_error(std::string(command) + ": " + e.what());
  }
  return std::nullopt;
}

std::chrono::milliseconds to_timeout(const po::variables_map& vm) {
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(std::ceil(vm["timeout"].as<double>() * 1000)));
}

std::string describe(const client::call_error& e) {
  if (e.remote_type.empty() || e.message.find(e.remote_type) != std::string::npos) return e.message;
  return e.remote_type + ": " + e.message;
}

po::options_description call_options() {
  po::options_description desc("brood call ADDR: send one message and print the answer as JSON");
  desc.add_options()                                             //
      ("help,h", po::bool_switch(), "print this help and exit")  //
      ("modifier1",
       uint_value(0, 255)->default_value(wire::to_byte(wire::modifier1::message_marshal)),
       "modifier1 of the packet")  //
      ("modifier2", uint_value(0, 255)->default_value(0), "modifier2 of the packet")(
          "json", po::value<std::string>()->value_name("TEXT"),
          "the message, as JSON ({\"$binary\": BASE64} for bytes)")(
          "string", po::value<std::string>()->value_name("TEXT"), "the message, a string")(
          "timeout", seconds_value()->default_value(default_timeout_seconds),
          "give up after this many seconds");
  return desc;
}

po::options_description ping_options() {
  po::options_description desc("brood ping ADDR: ping a node");
  desc.add_options()                                             //
      ("help,h", po::bool_switch(), "print this help and exit")  //
      ("timeout", seconds_value()->default_value(default_timeout_seconds),
       "give up after this many seconds");
  return desc;
}

po::options_description spool_options() {
  po::options_description desc(
      "brood spool ADDR KEY=VALUE...: enqueue a task on the spooler of the node at ADDR");
  desc.add_options()                                             //
      ("help,h", po::bool_switch(), "print this help and exit")  //
      ("body", po::value<std::string>()->value_name("TEXT"),
       "the task's body (sent as the var \"body\")")(
          "timeout", seconds_value()->default_value(default_timeout_seconds),
          "give up after this many seconds");
  return desc;
}

// The task vars of `brood spool`: every KEY=VALUE word (VALUE may contain '=', may be empty).
std::optional<wire::spool_vars> spool_task_vars(const po::variables_map& vm, int& status) {
  wire::spool_vars vars;
  if (!vm.count("vars")) return vars;
  for (const std::string& word : vm["vars"].as<std::vector<std::string>>()) {
    std::size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      status = usage_error("spool: expected KEY=VALUE, got '" + word + "'");
      return std::nullopt;
    }
    vars.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  return vars;
}

// The message `brood call` sends: --json, --string, or nil.
std::optional<wire::value> call_message(const po::variables_map& vm, int& status) {
  if (vm.count("json") && vm.count("string")) {
    status = usage_error("call: give --json or --string, not both");
    return std::nullopt;
  }
  if (vm.count("string")) return wire::value(vm["string"].as<std::string>());
  if (!vm.count("json")) return wire::value();
  json_result parsed = value_from_json(vm["json"].as<std::string>());
  if (!parsed.value) status = usage_error("call: --json: " + parsed.error);
  return parsed.value;
}

}  // namespace

int run_call(const std::vector<std::string>& args) {
  int status = 0;
  auto desc = call_options();
  auto vm = parse_or_report([&] { return parse_words(args, desc, "call"); }, "call", status);
  if (!vm) return status;
  if ((*vm)["help"].as<bool>()) {
    std::cout << "Usage: brood call ADDR [OPTIONS]\n" << desc;
    return 0;
  }
  auto message = call_message(*vm, status);
  if (!message) return status;
  const std::string address = (*vm)["address"].as<std::string>();
  auto answer = client::send_message(
      address, static_cast<std::uint8_t>((*vm)["modifier1"].as<std::uint64_t>()),
      static_cast<std::uint8_t>((*vm)["modifier2"].as<std::uint64_t>()), *message, to_timeout(*vm));
  if (!answer) {
    std::cerr << "brood: call to " << address << " failed: " << describe(answer.error()) << "\n";
    return 1;
  }
  std::cout << value_to_json(*answer) << "\n";
  return 0;
}

int run_spool(const std::vector<std::string>& args) {
  int status = 0;
  auto desc = spool_options();
  auto vm =
      parse_or_report([&] { return parse_words(args, desc, "spool", true); }, "spool", status);
  if (!vm) return status;
  if ((*vm)["help"].as<bool>()) {
    std::cout << "Usage: brood spool ADDR KEY=VALUE... [OPTIONS]\n" << desc;
    return 0;
  }
  auto vars = spool_task_vars(*vm, status);
  if (!vars) return status;
  const std::string address = (*vm)["address"].as<std::string>();
  const std::string body = vm->count("body") ? (*vm)["body"].as<std::string>() : std::string();
  auto answer = client::spool(address, *vars, body, to_timeout(*vm));
  if (!answer) {
    std::cerr << "brood: spool to " << address << " failed: " << describe(answer.error()) << "\n";
    return 1;
  }
  std::cout << "spooled\n";
  return 0;
}

int run_ping(const std::vector<std::string>& args) {
  int status = 0;
  auto desc = ping_options();
  auto vm = parse_or_report([&] { return parse_words(args, desc, "ping"); }, "ping", status);
  if (!vm) return status;
  if ((*vm)["help"].as<bool>()) {
    std::cout << "Usage: brood ping ADDR [OPTIONS]\n" << desc;
    return 0;
  }
  const std::string address = (*vm)["address"].as<std::string>();
  auto start = std::chrono::steady_clock::now();
  auto answer = client::ping(address, to_timeout(*vm));
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  if (!answer) {
    std::cerr << "brood: ping to " << address << " failed: " << describe(answer.error()) << "\n";
    return 1;
  }
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", took.count());
  std::cout << "PONG from " << address << " in " << ms << " ms";
  if (!answer->empty()) std::cout << " (warning: " << *answer << ")";
  std::cout << "\n";
  return 0;
}

}  // namespace brood::cli

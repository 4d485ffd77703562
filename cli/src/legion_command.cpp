#include "legion_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "brood/legion/config.hpp"
#include "brood/legion/query.hpp"
#include "ini.hpp"
#include "option_values.hpp"

namespace brood::cli {
namespace {

namespace po = boost::program_options;

po::options_description legion_options() {
  po::options_description desc("brood legion ADDR: print the view of the legion member at ADDR");
  desc.add_options()                                             //
      ("help,h", po::bool_switch(), "print this help and exit")  //
      ("legion", po::value<std::string>()->value_name("NAME"), "the legion's name")(
          "secret", po::value<std::string>()->value_name("S"),
          "the SECRET of the legion line, as written (e.g. aes-128-cbc:s3cr3t)")(
          "ini", po::value<std::string>()->value_name("FILE[:SECTION]"),
          "take NAME and SECRET from the `legion` lines of this ini file")(
          "json", po::bool_switch(), "print the member's view as JSON (its stats entry)")(
          "vassals", po::bool_switch(),
          "print the placement table of the member's emperor (emperor = legion:NAME,DIR)")(
          "timeout", seconds_value()->default_value(2.0), "give up after this many seconds");
  return desc;
}

std::vector<std::string> environment_strings() {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

// Fills name/secret (those not given) from the ini's `legion` lines. Error text or "".
std::string from_ini(const std::string& spec, const std::string& address, std::string& name,
                     std::string& secret) {
  legion::config c;
  for (const ini_line& l : load_ini_section(split_ini_spec(spec), environment_strings())) {
    if (l.key != "legion") continue;
    if (std::string why = legion::apply_legion(c, l.value); !why.empty())
      return spec + " line " + std::to_string(l.line) + ": " + why;
  }
  const legion::legion_config* pick = nullptr;
  legion::endpoint want;
  const bool addr_ok = legion::parse_endpoint(address, want).empty();
  for (const legion::legion_config& l : c.legions) {
    if (!name.empty() ? l.name == name : (addr_ok && l.address == want)) pick = &l;
  }
  if (pick == nullptr && name.empty() && c.legions.size() == 1) pick = &c.legions[0];
  if (pick == nullptr)
    return c.legions.empty() ? spec + " has no `legion` line"
                             : spec + ": name the legion with --legion (" +
                                   std::to_string(c.legions.size()) + " legions there)";
  if (name.empty()) name = pick->name;
  if (secret.empty()) secret = pick->secret;
  return "";
}

std::string ago(std::int64_t unix_s) {
  if (unix_s <= 0) return "never";
  const std::int64_t now = std::time(nullptr);
  return std::to_string(now > unix_s ? now - unix_s : 0) + " s ago";
}

// `--vassals`: the view's `placement` (docs/legion.md "Placement"), one line per vassal.
int print_vassals(const std::string& address, const nlohmann::json& j) {
  const auto p = j.find("placement");
  if (p == j.end() || !p->is_object() || !p->contains("table") || !(*p)["table"].is_object()) {
    std::cerr << "brood: legion: " << address
              << " places no vassals (its emperor has no emperor = legion:NAME,DIR)\n";
    return 1;
  }
  std::cout << "placement of legion " << p->value("legion", "") << " at " << address << ": lord "
            << p->value("lord", "") << ", epoch " << p->value("epoch", 0ULL) << ", version "
            << p->value("version", 0ULL)
            << (p->value("fenced", false) ? ", this member FENCED" : "") << "\n";
  for (const auto& [name, members] : (*p)["table"].items()) {
    std::cout << "  " << name << ":";
    if (members.is_array())
      for (const auto& m : members)
        if (m.is_string()) std::cout << " " << m.get<std::string>();
    std::cout << "\n";
  }
  return 0;
}

void print_view(const legion::legion_view& v) {
  std::ostringstream o;
  o << "legion " << v.legion << " at " << v.address << " (" << v.backend << ")\n";
  o << "  this member: uuid " << v.uuid << ", valor " << v.valor
    << (v.valor == 0 ? " (arbiter)" : "") << (v.i_am_the_lord ? ", LORD" : "") << "\n";
  o << "  quorum " << v.quorum << ", epoch " << v.epoch << "\n";
  if (v.lord_uuid.empty() && !v.i_am_the_lord) {
    o << "  lord: none known\n";
  } else {
    o << "  lord: " << (v.i_am_the_lord ? "this member" : v.lord_address) << " uuid " << v.lord_uuid
      << ", valor " << v.lord_valor;
    if (!v.lord_scroll.empty()) o << ", scroll " << nlohmann::json(v.lord_scroll).dump();
    o << "\n";
  }
  std::size_t alive = 0;
  for (const legion::member_view& m : v.members) alive += m.alive ? 1 : 0;
  o << "  members: " << alive << " of " << v.members.size() << " others alive\n";
  for (const legion::member_view& m : v.members) {
    o << "    " << m.address << "  " << (m.alive ? "alive" : "gone ") << "  valor " << m.valor;
    if (!m.uuid.empty()) o << "  uuid " << m.uuid;
    if (!m.name.empty()) o << "  host " << m.name;
    o << "  last seen " << ago(m.last_seen_unix) << "\n";
  }
  std::cout << o.str();
}

}  // namespace

int run_legion(const std::vector<std::string>& args) {
  po::options_description desc = legion_options();
  desc.add_options()("address", po::value<std::string>(), "");
  po::positional_options_description positional;
  positional.add("address", 1);
  po::variables_map vm;
  try {
    const int style =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args).options(desc).positional(positional).style(style).run(),
              vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    std::cerr << "brood: legion: unknown option '" << e.get_option_name() << "'\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "brood: legion: " << e.what() << "\n";
    return 2;
  }
  if (vm["help"].as<bool>()) {
    std::cout << "Usage: brood legion ADDR [OPTIONS]\n" << legion_options();
    return 0;
  }
  if (!vm.count("address")) {
    std::cerr << "brood: legion: missing ADDR (brood legion --help)\n";
    return 2;
  }
  legion::query_request r;
  r.address = vm["address"].as<std::string>();
  if (vm.count("legion")) r.legion = vm["legion"].as<std::string>();
  if (vm.count("secret")) r.secret = vm["secret"].as<std::string>();
  if (vm.count("ini") && (r.legion.empty() || r.secret.empty())) {
    try {
      if (std::string why = from_ini(vm["ini"].as<std::string>(), r.address, r.legion, r.secret);
          !why.empty()) {
        std::cerr << "brood: legion: " << why << "\n";
        return 2;
      }
    } catch (const std::exception& e) {
      std::cerr << "brood: legion: " << e.what() << "\n";
      return 2;
    }
  }
  if (r.legion.empty() || r.secret.empty()) {
    std::cerr << "brood: legion: give the legion's name and secret (--legion NAME --secret S, or "
                 "--ini FILE with its `legion` line)\n";
    return 2;
  }
  r.timeout = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::ceil(vm["timeout"].as<double>() * 1000)));
  const legion::query_answer a = legion::query_member(r);
  if (!a.ok) {
    std::cerr << "brood: legion: " << a.error << "\n";
    return 1;
  }
  if (vm["vassals"].as<bool>()) return print_vassals(r.address, nlohmann::json::parse(a.json));
  if (vm["json"].as<bool>())
    std::cout << nlohmann::json::parse(a.json).dump(2) << "\n";
  else
    print_view(a.view);
  return 0;
}

}  // namespace brood::cli

#include "cheaper_options.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "option_values.hpp"

namespace brood::cli {
namespace {

using node::cheaper_algo;

constexpr std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t max_percent = 100;
constexpr std::uint64_t max_factor = 1000;    // busyness multipliers and penalty
constexpr std::uint64_t max_backlog = 65535;  // as `listen`
constexpr std::string_view cheaper_prefix = "cheaper";

constexpr cheaper_algo all_algos[] = {cheaper_algo::brood,    cheaper_algo::spare,
                                      cheaper_algo::spare2,   cheaper_algo::backlog,
                                      cheaper_algo::busyness, cheaper_algo::manual};

// The defaults of the option table are those of the config structs.
const node::cheaper_config cheaper_defaults{};
const node::node_config node_defaults{};

std::vector<std::string> algo_names() {
  std::vector<std::string> names;
  for (cheaper_algo a : all_algos) names.emplace_back(node::to_string(a));
  return names;
}

// REQUIRES: `name` is one of algo_names() (choice_value checked it).
cheaper_algo algo_named(const std::string& name) {
  for (cheaper_algo a : all_algos)
    if (name == node::to_string(a)) return a;
  return cheaper_defaults.algo;
}

void add_cheaper(po::options_description& g) {
  const node::cheaper_config& d = cheaper_defaults;
  g.add_options()  //
      ("cheaper", uint_value(0, max_processes)->default_value(d.cheaper),
       "adaptive worker pool: keep at least N workers and let the cheaper algorithm spawn more, "
       "up to processes (N < processes; 0: off); implies master")(
          "cheaper-initial", uint_value(0, max_processes)->default_value(d.initial),
          "workers spawned at start, clamped into [cheaper, processes] (0: cheaper)")(
          "cheaper-step", uint_value(0, max_processes)->default_value(d.step),
          "most workers spawned by one decision (0: 1)")(
          "cheaper-overload", uint_value(1, max_seconds)->default_value(d.overload),
          "spare: fully busy checks before a spawn; backlog: queued connections; busyness: "
          "seconds per busyness sample")(
          "cheaper-algo", choice_value(algo_names())->default_value(node::to_string(d.algo)),
          "the cheaper algorithm: brood, spare, spare2, backlog, busyness or manual")(
          "cheaper-idle",
          uint_value(0, max_seconds)->default_value(d.idle.count())->value_name("SECONDS"),
          "spare2 and brood: how long a worker is not needed before it is cheaped (0: the "
          "algorithm's default)")(
          "cheaper-rss-limit-soft",
          uint_value(0, max_bytes)->default_value(d.rss_limit_soft)->value_name("BYTES"),
          "no spawn while the workers' total RSS is at or above this (0: off; needs "
          "memory-report)")(
          "cheaper-rss-limit-hard",
          uint_value(0, max_bytes)->default_value(d.rss_limit_hard)->value_name("BYTES"),
          "cheap one worker while the workers' total RSS is at or above this (0: off; above "
          "the soft limit)")("memory-report", flag_value(),
                             "the master reads each worker's RSS; implies master");
}

void add_busyness(po::options_description& g) {
  const node::busyness_options& d = cheaper_defaults.busyness;
  g.add_options()  //
      ("cheaper-busyness-max",
       uint_value(0, max_percent)->default_value(d.max)->value_name("PERCENT"),
       "busyness: spawn when the average busyness is above this")(
          "cheaper-busyness-min",
          uint_value(0, max_percent)->default_value(d.min)->value_name("PERCENT"),
          "busyness: cheap when the average busyness is below this (at most "
          "cheaper-busyness-max)")(
          "cheaper-busyness-multiplier", uint_value(1, max_factor)->default_value(d.multiplier),
          "busyness: a cheap waits cheaper-overload times this many seconds")(
          "cheaper-busyness-penalty", uint_value(0, max_factor)->default_value(d.penalty),
          "busyness: added to the multiplier when a worker is spawned soon after a cheap")(
          "cheaper-busyness-verbose", flag_value(), "busyness: log every computation")(
          "cheaper-busyness-backlog-alert",
          uint_value(0, max_backlog)->default_value(d.backlog_alert),
          "busyness: spawn an emergency worker when more connections than this are queued")(
          "cheaper-busyness-backlog-multiplier",
          uint_value(1, max_factor)->default_value(d.backlog_multiplier),
          "busyness: cheaping waits this many times longer while emergency workers run")(
          "cheaper-busyness-backlog-step",
          uint_value(1, max_processes)->default_value(d.backlog_step),
          "busyness: workers spawned per emergency")(
          "cheaper-busyness-backlog-nonzero",
          uint_value(0, max_seconds)
              ->default_value(d.backlog_nonzero.count())
              ->value_name("SECONDS"),
          "busyness: spawn an emergency worker when connections stay queued this long");
}

void add_idle_and_fifo(po::options_description& g) {
  const node::node_config& d = node_defaults;
  g.add_options()  //
      ("check-interval",
       uint_value(1, max_seconds)->default_value(d.check_interval.count())->value_name("SECONDS"),
       "the master runs its periodic checks (cheaper algorithm, idle) this often")(
          "idle", uint_value(0, max_seconds)->default_value(d.idle.count())->value_name("SECONDS"),
          "after this long without a request, stop every worker until the next connection "
          "(cheap mode; 0: never); implies master")(
          "die-on-idle", flag_value(), "when idle, stop the node instead of going cheap")(
          "master-fifo", string_list_value()->value_name("PATH"),
          "a control FIFO of the master; repeatable, at most 10 (slots 0 to 9); implies master")(
          "vassal-sos",
          uint_value(0, max_seconds)->default_value(d.vassal_sos.count())->value_name("SECONDS"),
          "as a vassal, ask the emperor for reinforcements once every worker has been busy this "
          "long (0: never)")(
          "vassal-sos-backlog",
          uint_value(0, max_backlog)->default_value(d.vassal_sos_backlog)->value_name("N"),
          "as a vassal, ask the emperor for reinforcements while N connections wait in the "
          "listen queue (0: never)");
}

// The cheaper_config of the stored options, without the checks that involve processes.
node::cheaper_config read_cheaper(const po::variables_map& vm) {
  using std::chrono::seconds;
  node::cheaper_config c;
  c.cheaper = static_cast<unsigned>(number(vm, "cheaper"));
  c.initial = static_cast<unsigned>(number(vm, "cheaper-initial"));
  c.step = std::max(1u, static_cast<unsigned>(number(vm, "cheaper-step")));
  c.overload = static_cast<unsigned>(number(vm, "cheaper-overload"));
  c.algo = algo_named(vm["cheaper-algo"].as<std::string>());
  c.idle = seconds(number(vm, "cheaper-idle"));
  c.rss_limit_soft = number(vm, "cheaper-rss-limit-soft");
  c.rss_limit_hard = number(vm, "cheaper-rss-limit-hard");
  c.memory_report = vm["memory-report"].as<bool>();
  node::busyness_options& b = c.busyness;
  b.max = static_cast<unsigned>(number(vm, "cheaper-busyness-max"));
  b.min = static_cast<unsigned>(number(vm, "cheaper-busyness-min"));
  b.multiplier = static_cast<unsigned>(number(vm, "cheaper-busyness-multiplier"));
  b.penalty = static_cast<unsigned>(number(vm, "cheaper-busyness-penalty"));
  b.verbose = vm["cheaper-busyness-verbose"].as<bool>();
  b.backlog_alert = static_cast<unsigned>(number(vm, "cheaper-busyness-backlog-alert"));
  b.backlog_multiplier = static_cast<unsigned>(number(vm, "cheaper-busyness-backlog-multiplier"));
  b.backlog_step = static_cast<unsigned>(number(vm, "cheaper-busyness-backlog-step"));
  b.backlog_nonzero = seconds(number(vm, "cheaper-busyness-backlog-nonzero"));
  return c;
}

// Checks the values against each other and clamps cheaper-initial (docs/uwsgi-compat.md §7.1).
void check_cheaper(node::cheaper_config& c, unsigned processes) {
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  if (c.enabled() && c.cheaper >= processes)
    throw option_error("cheaper (" + n(c.cheaper) + ") must be less than processes (" +
                       n(processes) + ")");
  c.initial =
      c.enabled() ? std::clamp(c.initial == 0 ? c.cheaper : c.initial, c.cheaper, processes) : 0;
  if (c.rss_limit_soft > 0 && !c.memory_report)
    throw option_error("cheaper-rss-limit-soft (" + n(c.rss_limit_soft) + ") needs memory-report");
  if (c.rss_limit_soft > 0 && c.rss_limit_hard > 0 && c.rss_limit_hard <= c.rss_limit_soft)
    throw option_error("cheaper-rss-limit-hard (" + n(c.rss_limit_hard) +
                       ") must be greater than cheaper-rss-limit-soft (" + n(c.rss_limit_soft) +
                       ")");
  if (c.busyness.min > c.busyness.max)
    throw option_error("cheaper-busyness-min (" + n(c.busyness.min) +
                       ") is greater than cheaper-busyness-max (" + n(c.busyness.max) + ")");
}

std::vector<std::string> master_fifos(const po::variables_map& vm) {
  std::vector<std::string> paths = strings(vm, "master-fifo");
  if (paths.size() > max_master_fifos)
    throw option_error("invalid value '" + paths[max_master_fifos] +
                       "' for option 'master-fifo': at most " + std::to_string(max_master_fifos) +
                       " paths (slots 0 to " + std::to_string(max_master_fifos - 1) +
                       "), this is path " + std::to_string(max_master_fifos + 1));
  return paths;
}

// True when a cheaper* option was given (uWSGI: they all need the master), even `cheaper 0`.
bool cheaper_option_given(const po::variables_map& vm) {
  for (const auto& [name, value] : vm)
    if (name.compare(0, cheaper_prefix.size(), cheaper_prefix) == 0 && !value.defaulted())
      return true;
  return false;
}

}  // namespace

po::options_description cheaper_option_group(unsigned help_width) {
  po::options_description g("Cheaper, idle and master FIFO", help_width, help_width / 2);
  add_cheaper(g);
  add_busyness(g);
  add_idle_and_fifo(g);
  return g;
}

void apply_cheaper_options(const po::variables_map& vm, node::node_config& cfg) {
  using std::chrono::seconds;
  cfg.cheaper = read_cheaper(vm);
  check_cheaper(cfg.cheaper, cfg.processes);
  cfg.check_interval = seconds(number(vm, "check-interval"));
  cfg.idle = seconds(number(vm, "idle"));
  cfg.die_on_idle = vm["die-on-idle"].as<bool>();
  cfg.master_fifo = master_fifos(vm);
  cfg.vassal_sos = seconds(number(vm, "vassal-sos"));
  cfg.vassal_sos_backlog = static_cast<unsigned>(number(vm, "vassal-sos-backlog"));
  if (cheaper_option_given(vm) || cfg.cheaper.memory_report || cfg.idle.count() > 0 ||
      !cfg.master_fifo.empty() || cfg.vassal_sos.count() > 0 || cfg.vassal_sos_backlog > 0)
    cfg.master = true;
}

}  // namespace brood::cli

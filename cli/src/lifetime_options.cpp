#include "lifetime_options.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "option_values.hpp"

namespace brood::cli {
namespace {

constexpr std::uint64_t max_lifetime_seconds = 86400 * 365;
constexpr std::uint64_t max_megabytes = std::uint64_t{1} << 40;  // bytes still fit in 64 bits
constexpr std::uint64_t megabyte = 1024 * 1024;
const node::lifetime_config defaults{};

void add_harakiri(po::options_description& g) {
  g.add_options()  //
      ("harakiri,t", uint_value(0, max_lifetime_seconds)->default_value(0)->value_name("SECONDS"),
       "the master kills (SIGKILL) and respawns a worker stuck in one request longer than this "
       "(0: off); implies master")("harakiri-verbose", flag_value(),
                                   "harakiri also logs what the stuck worker waits on");
}

void add_recycling(po::options_description& g) {
  const node::lifetime_config& d = defaults;
  g.add_options()  //
      ("max-requests,R",
       uint_value(0, std::numeric_limits<std::uint64_t>::max())->default_value(0)->value_name("N"),
       "a worker that has answered N requests stops accepting, finishes what it holds and is "
       "respawned (0: off); implies master")(
          "min-worker-lifetime",
          uint_value(0, max_lifetime_seconds)
              ->default_value(d.min_worker_lifetime.count())
              ->value_name("SECONDS"),
          "max-requests and reload-on-* spare a worker younger than this")(
          "max-worker-lifetime",
          uint_value(0, max_lifetime_seconds)->default_value(0)->value_name("SECONDS"),
          "the master recycles a worker this long after its spawn (0: off); implies master")(
          "max-worker-lifetime-delta",
          uint_value(0, max_lifetime_seconds)->default_value(0)->value_name("SECONDS"),
          "worker id times this is added to max-worker-lifetime (spreads the recycles)")(
          "reload-on-rss", uint_value(0, max_megabytes)->default_value(0)->value_name("MB"),
          "after a request, a worker whose RSS is above this recycles itself (0: off)")(
          "reload-on-as", uint_value(0, max_megabytes)->default_value(0)->value_name("MB"),
          "after a request, a worker whose address space is above this recycles itself (0: off)")(
          "evil-reload-on-rss", uint_value(0, max_megabytes)->default_value(0)->value_name("MB"),
          "the master kills (SIGKILL) and respawns a worker whose RSS is above this (0: off)")(
          "evil-reload-on-as", uint_value(0, max_megabytes)->default_value(0)->value_name("MB"),
          "the master kills (SIGKILL) and respawns a worker whose address space is above this "
          "(0: off)")("mem-collector-freq",
                      uint_value(1, max_lifetime_seconds)
                          ->default_value(d.mem_collector_freq.count())
                          ->value_name("SECONDS"),
                      "how often the master checks the evil-reload-on-* limits");
}

}  // namespace

po::options_description lifetime_option_group(unsigned help_width) {
  po::options_description group("Worker lifetime", help_width, help_width / 2);
  add_harakiri(group);
  add_recycling(group);
  return group;
}

void apply_lifetime_options(const po::variables_map& vm, node::node_config& cfg) {
  using std::chrono::seconds;
  node::lifetime_config& c = cfg.lifetime;
  c.harakiri = seconds(number(vm, "harakiri"));
  c.harakiri_verbose = vm["harakiri-verbose"].as<bool>();
  c.max_requests = number(vm, "max-requests");
  c.min_worker_lifetime = seconds(number(vm, "min-worker-lifetime"));
  c.max_worker_lifetime = seconds(number(vm, "max-worker-lifetime"));
  c.max_worker_lifetime_delta = seconds(number(vm, "max-worker-lifetime-delta"));
  c.reload_on_rss = number(vm, "reload-on-rss") * megabyte;
  c.reload_on_as = number(vm, "reload-on-as") * megabyte;
  c.evil_reload_on_rss = number(vm, "evil-reload-on-rss") * megabyte;
  c.evil_reload_on_as = number(vm, "evil-reload-on-as") * megabyte;
  c.mem_collector_freq = seconds(number(vm, "mem-collector-freq"));
  // As uWSGI 2.0.21: a worker must be allowed to live as long as its lifetime limit.
  if (c.max_worker_lifetime.count() > 0 && c.min_worker_lifetime >= c.max_worker_lifetime)
    throw option_error("invalid min-worker-lifetime value (" +
                       std::to_string(c.min_worker_lifetime.count()) +
                       "), must be lower than max-worker-lifetime (" +
                       std::to_string(c.max_worker_lifetime.count()) + ")");
  if (c.any()) cfg.master = true;  // the master kills, recycles and respawns
}

}  // namespace brood::cli

#include "legion_options.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "option_values.hpp"

namespace brood::cli {
namespace {

constexpr std::uint64_t max_scroll = 1 << 20;

struct hook_option {
  const char* name;
  legion::hook_event event;
  const char* help;
};

constexpr hook_option hook_options[] = {
    {"legion-lord", legion::hook_event::lord, "run ACTION when this member becomes lord"},
    {"legion-unlord", legion::hook_event::unlord, "run ACTION when this member stops being lord"},
    {"legion-setup", legion::hook_event::setup, "run ACTION when the legion starts"},
    {"legion-death", legion::hook_event::death, "run ACTION when the legion stops (shutdown)"},
    {"legion-join", legion::hook_event::join,
     "run ACTION the first time this member hears a quorum"},
    {"legion-node-joined", legion::hook_event::node_joined, "run ACTION when a member appears"},
    {"legion-node-left", legion::hook_event::node_left,
     "run ACTION when a member leaves or is no longer heard"},
};

// Applies every value of `option` with `apply`; the first error is thrown.
template <typename Apply>
void apply_all(const po::variables_map& vm, const char* option, Apply apply) {
  for (const std::string& v : strings(vm, option))
    if (std::string e = apply(v); !e.empty()) throw option_error(e);
}

}  // namespace

po::options_description legion_option_group(unsigned help_width) {
  po::options_description g("Legion", help_width, help_width / 2);
  g.add_options()  //
      ("legion", string_list_value()->value_name("NAME ADDR VALOR SECRET"),
       "be a member of the legion NAME, speaking ZeroMQ (TCP) at ADDR (HOST:PORT); the member "
       "with the highest VALOR (0: an arbiter, never lord) that a quorum grants a lease is the "
       "lord; SECRET (uWSGI's CIPHER:KEY is accepted) authenticates every message; repeatable")(
          "legion-mcast", string_list_value()->value_name("NAME ADDR VALOR SECRET"),
          "uWSGI's multicast legion: refused (brood speaks ZeroMQ over TCP: use legion and "
          "legion-node)")("legion-node", string_list_value()->value_name("NAME ADDR"),
                          "another member of the legion NAME; repeatable")(
          "legion-quorum", string_list_value()->value_name("NAME N"),
          "members (this one included) that must grant a lease (default: a majority of the "
          "members)")("legion-scroll", string_list_value()->value_name("NAME TEXT"),
                      "this member's scroll, shown to the others (uwsgi.scrolls)")(
          "legion-scroll-max-size", uint_value(0, max_scroll)->default_value(4096)->value_name("N"),
          "the longest scroll, in bytes")(
          "legion-scroll-list-max-size",
          uint_value(0, max_scroll)->default_value(32768)->value_name("N"),
          "the longest list of scrolls a worker reads, in bytes")(
          "legion-freq", uint_value(1, max_seconds)->value_name("SECONDS"),
          "uWSGI's announce period: the heartbeat, in seconds (legion-heartbeat wins)")(
          "legion-tolerance", uint_value(1, max_seconds)->value_name("SECONDS"),
          "uWSGI's tolerance: the lease, in seconds (legion-lease wins)")(
          "legion-heartbeat", uint_value(1, max_milliseconds)->value_name("MS"),
          "announce this member, and renew the lord's lease, this often (default 100 ms; "
          "brood)")("legion-lease", uint_value(1, max_milliseconds)->value_name("MS"),
                    "a lease, and a member's liveness, last this long after the last renewal "
                    "or message (default 400 ms; brood)")(
          "legion-vassal-lease", uint_value(1, max_milliseconds)->value_name("MS"),
          "emperor = legion:NAME,DIR: a member runs its placed vassals at most this long after "
          "the report its lord acknowledged (default 3000 ms; brood)")(
          "legion-max-vassals", uint_value(0, 1000000)->value_name("N"),
          "emperor = legion:NAME,DIR: the most vassals the lord places on this member (0: no "
          "limit; also the weight of this member in the spread)")(
          "legion-vassal-nice", uint_value(0, 19)->value_name("N"),
          "emperor = legion:NAME,DIR: placed vassals run this much nicer than the emperor, so "
          "their starts never starve the legion's election and fence (default 10; brood)")(
          "legion-skew-tolerance", uint_value(1, max_seconds)->value_name("SECONDS"),
          "drop messages stamped further than this from our clock (default 60)")(
          "legion-attach-daemon", string_list_value()->value_name("NAME COMMAND"),
          "run COMMAND (by /bin/sh -c) only while this member is lord of NAME; repeatable")(
          "legion-etcd", string_list_value()->value_name("[NAME] ENDPOINTS"),
          "elect through etcd (http://HOST:PORT[,...]) instead of ZeroMQ, for NAME or every "
          "legion");
  for (const hook_option& h : hook_options)
    g.add_options()(h.name, string_list_value()->value_name("NAME ACTION"),
                    (std::string(h.help) + "; ACTION is cmd:CMD, exec:CMD, log:TEXT or signal:N; "
                                           "repeatable")
                        .c_str());
  return g;
}

legion::config to_legion_config(const po::variables_map& vm) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  legion::config c;
  if (vm.count("legion-mcast"))
    throw option_error(
        "legion-mcast: multicast legions are not supported: brood's members speak ZeroMQ "
        "over TCP; declare the legion with `legion` and each other member with `legion-node`");
  c.scroll_max_size = number(vm, "legion-scroll-max-size");
  c.scroll_list_max_size = number(vm, "legion-scroll-list-max-size");
  apply_all(vm, "legion", [&](const std::string& v) { return legion::apply_legion(c, v); });
  apply_all(vm, "legion-node",
            [&](const std::string& v) { return legion::apply_legion_node(c, v); });
  apply_all(vm, "legion-quorum",
            [&](const std::string& v) { return legion::apply_legion_quorum(c, v); });
  apply_all(vm, "legion-scroll",
            [&](const std::string& v) { return legion::apply_legion_scroll(c, v); });
  for (const hook_option& h : hook_options)
    apply_all(vm, h.name,
              [&](const std::string& v) { return legion::apply_legion_hook(c, h.event, v); });
  apply_all(vm, "legion-attach-daemon",
            [&](const std::string& v) { return legion::apply_legion_attach_daemon(c, v); });
  apply_all(vm, "legion-etcd",
            [&](const std::string& v) { return legion::apply_legion_etcd(c, v); });
  if (vm.count("legion-freq")) c.times.heartbeat = seconds(number(vm, "legion-freq"));
  if (vm.count("legion-tolerance")) c.times.lease = seconds(number(vm, "legion-tolerance"));
  if (vm.count("legion-heartbeat"))
    c.times.heartbeat = milliseconds(number(vm, "legion-heartbeat"));
  if (vm.count("legion-lease")) c.times.lease = milliseconds(number(vm, "legion-lease"));
  if (vm.count("legion-vassal-lease"))
    c.times.vassal_lease = milliseconds(number(vm, "legion-vassal-lease"));
  if (vm.count("legion-max-vassals"))
    c.max_vassals = static_cast<std::uint32_t>(number(vm, "legion-max-vassals"));
  if (vm.count("legion-vassal-nice"))
    c.vassal_nice = static_cast<int>(number(vm, "legion-vassal-nice"));
  if (vm.count("legion-skew-tolerance"))
    c.times.skew_tolerance = seconds(number(vm, "legion-skew-tolerance"));
  if (c.legions.empty()) return c;
  if (std::string e = legion::validate(c); !e.empty()) throw option_error(e);
  return c;
}

}  // namespace brood::cli

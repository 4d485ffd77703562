#include "spooler_options.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "option_values.hpp"

namespace brood::cli {
namespace {

constexpr std::uint64_t max_spooler_processes = 1024;
constexpr std::uint64_t max_count = 1'000'000'000;

}  // namespace

po::options_description spooler_option_group(unsigned help_width) {
  po::options_description spooler("Spooler", help_width, help_width / 2);
  spooler.add_options()  //
      ("spooler,Q", string_list_value()->value_name("DIR"),
       "run a spooler on DIR (created if missing; implies master); repeatable")(
          "spooler-external", string_list_value()->value_name("DIR"),
          "accept tasks for DIR (remote enqueue, uwsgi.spool) without running a spooler on it; "
          "repeatable")("spooler-processes", uint_value(1, max_spooler_processes)->default_value(1),
                        "spooler processes per spooler dir")(
          "spooler-frequency", uint_value(1, max_seconds)->default_value(30)->value_name("SECONDS"),
          "rescan the spooler dirs this often (new tasks start at once anyway)")(
          "spooler-freq", uint_value(1, max_seconds)->value_name("SECONDS"),
          "same as --spooler-frequency")("spooler-ordered", flag_value(),
                                         "run tasks in file-name (version) order")(
          "spooler-max-tasks", uint_value(0, max_count)->default_value(0),
          "a spooler process exits (and is respawned) after this many tasks; 0: never")(
          "spooler-harakiri", uint_value(0, max_seconds)->default_value(0)->value_name("SECONDS"),
          "kill a spooler process whose task runs longer than this; 0: never")(
          "spooler-chdir", po::value<std::string>()->value_name("DIR"),
          "working directory of the spooler processes while a task runs")(
          "spooler-quiet", flag_value(), "no log line per task")(
          "spooler-max-attempts", uint_value(0, max_count)->default_value(10),
          "a task that failed this many attempts moves to DIR/failed/; 0: retry forever "
          "(brood)")("spooler-retry-delay",
                     uint_value(0, max_milliseconds)->default_value(1000)->value_name("MS"),
                     "delay before the first retry of a failed task, doubled at each further "
                     "attempt (brood)")(
          "spooler-retry-max-delay",
          uint_value(0, max_milliseconds)->default_value(300000)->value_name("MS"),
          "the longest delay between two attempts of a task (brood)")(
          "spooler-log-size",
          uint_value(65536, std::uint64_t{1} << 30)->default_value(4 << 20)->value_name("BYTES"),
          "bytes of each preallocated segment of a spooler dir's task log (brood; "
          "docs/spool_format.md)")(
          "spooler-log-max-age",
          uint_value(0, max_milliseconds)->default_value(2000)->value_name("MS"),
          "a task log segment is checkpointed once its first task is this old, full or not; 0: "
          "only when full (brood; docs/spool_format.md)");
  return spooler;
}

spooler::spooler_config to_spooler_config(const po::variables_map& vm) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  spooler::spooler_config s;
  s.dirs = strings(vm, "spooler");
  s.external_dirs = strings(vm, "spooler-external");
  s.processes = static_cast<unsigned>(number(vm, "spooler-processes"));
  s.frequency = seconds(number(vm, "spooler-frequency"));
  s.ordered = vm["spooler-ordered"].as<bool>();
  s.max_tasks = static_cast<unsigned>(number(vm, "spooler-max-tasks"));
  s.harakiri = seconds(number(vm, "spooler-harakiri"));
  if (vm.count("spooler-chdir")) s.chdir = vm["spooler-chdir"].as<std::string>();
  s.quiet = vm["spooler-quiet"].as<bool>();
  s.max_attempts = static_cast<unsigned>(number(vm, "spooler-max-attempts"));
  s.retry_delay = milliseconds(number(vm, "spooler-retry-delay"));
  s.retry_max_delay = milliseconds(number(vm, "spooler-retry-max-delay"));
  s.log_size = number(vm, "spooler-log-size");
  s.log_max_age = milliseconds(number(vm, "spooler-log-max-age"));
  if (s.retry_max_delay < s.retry_delay)
    throw option_error("spooler-retry-max-delay (" + std::to_string(s.retry_max_delay.count()) +
                       " ms) is less than spooler-retry-delay (" +
                       std::to_string(s.retry_delay.count()) + " ms)");
  return s;
}

}  // namespace brood::cli

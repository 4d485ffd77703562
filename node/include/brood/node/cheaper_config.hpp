#pragma once
// The cheaper subsystem's options (adaptive worker pools, docs/config.md "Cheaper"), the idle /
// cheap mode and the master FIFO, as the CLI fills them from uWSGI's option names. Plain data:
// validation is the CLI's (cli/src/cheaper_options.cpp), which guarantees the REQUIREs below.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace brood::node {

// cheaper-algo. brood is brood's own (the default when `cheaper` is set without cheaper-algo);
// the others are uWSGI's algorithms by their uWSGI names.
enum class cheaper_algo { brood, spare, spare2, backlog, busyness, manual };

// "brood", "spare", "spare2", "backlog", "busyness", "manual".
const char* to_string(cheaper_algo a) noexcept;

// cheaper-busyness-* (uWSGI's defaults).
struct busyness_options {
  unsigned max = 50;         // cheaper-busyness-max (%): above, spawn
  unsigned min = 25;         // cheaper-busyness-min (%): below, cheap
  unsigned multiplier = 10;  // cheaper-busyness-multiplier: cheap waits overload * multiplier s
  unsigned penalty = 2;      // cheaper-busyness-penalty: added to multiplier after a quick respawn
  bool verbose = false;      // cheaper-busyness-verbose: log every computation
  unsigned backlog_alert = 33;      // cheaper-busyness-backlog-alert: emergency spawn above
  unsigned backlog_multiplier = 3;  // cheaper-busyness-backlog-multiplier
  unsigned backlog_step = 1;        // cheaper-busyness-backlog-step: workers per emergency
  std::chrono::seconds backlog_nonzero{60};  // cheaper-busyness-backlog-nonzero
};

struct cheaper_config {
  // cheaper: the fewest workers; 0: cheaper is off and every worker always runs.
  // REQUIRES (when not 0): cheaper < processes.
  unsigned cheaper = 0;
  // cheaper-initial: workers spawned at start, in [cheaper, processes] (the CLI clamps it;
  // 0 means `cheaper`).
  unsigned initial = 0;
  unsigned step = 1;      // cheaper-step: most workers one decision spawns (0 given: 1)
  unsigned overload = 3;  // cheaper-overload: checks (spare) or seconds (busyness); >= 1
  cheaper_algo algo = cheaper_algo::brood;
  // cheaper-idle: spare2's seconds with more than `cheaper` idle workers before one is cheaped
  // (uWSGI's default 10); brood's: seconds a worker is not needed before it is cheaped (8).
  // 0: the algorithm's default.
  std::chrono::seconds idle{0};
  // cheaper-rss-limit-soft / -hard (bytes, 0: off): at or above soft, no spawn; at or above hard,
  // one worker is cheaped. REQUIRES: soft needs memory_report; hard > soft when both are set.
  std::uint64_t rss_limit_soft = 0;
  std::uint64_t rss_limit_hard = 0;
  bool memory_report = false;  // memory-report: the master reads each worker's RSS
  busyness_options busyness;

  bool enabled() const noexcept { return cheaper > 0; }
};

}  // namespace brood::node

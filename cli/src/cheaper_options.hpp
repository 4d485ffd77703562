#pragma once
// The cheaper options (docs/uwsgi-compat.md §7: cheaper*, memory-report), check-interval, idle,
// die-on-idle and master-fifo (§5.2, §5.3), and their conversion into node::node_config. Part of
// the one option table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"

namespace brood::cli {

// The "Cheaper, idle and master FIFO" group of `brood --help`.
boost::program_options::options_description cheaper_option_group(unsigned help_width);

// Fills cfg.cheaper, cfg.check_interval, cfg.idle, cfg.die_on_idle and cfg.master_fifo from
// stored options, and sets cfg.master when one of them needs the master (any cheaper* option
// given, memory-report, idle above 0, a master-fifo). cheaper-* options without `cheaper` (or
// with `cheaper 0`) leave cheaper off, silently, as uWSGI does. cheaper-initial is clamped into
// [cheaper, processes] when cheaper is on (0 or absent: cheaper), cheaper-step 0 becomes 1.
// REQUIRES: cfg.processes is already set. Throws option_error naming the options and values when
// they contradict each other: cheaper not below processes, cheaper-rss-limit-soft without
// memory-report, cheaper-rss-limit-hard not above the soft limit, cheaper-busyness-min above
// cheaper-busyness-max, more than max_master_fifos master-fifo paths.
void apply_cheaper_options(const boost::program_options::variables_map& vm, node::node_config& cfg);

// master-fifo slots: 0..9, one per path given.
inline constexpr std::size_t max_master_fifos = 10;

}  // namespace brood::cli

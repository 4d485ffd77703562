#pragma once
// The zerg-mode options (docs/uwsgi-compat.md §6: zerg-server, zerg, zerg-fallback) and
// reuse-port, and their conversion into node::node_config. Part of the one option table
// (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"

namespace brood::cli {

// The "Zerg mode" group of `brood --help`.
boost::program_options::options_description zerg_option_group(unsigned help_width);

// Fills cfg.zerg_server, cfg.zergs, cfg.zerg_fallback and cfg.reuse_port from stored options;
// a zerg-server sets cfg.master (the master serves it).
void apply_zerg_options(const boost::program_options::variables_map& vm, node::node_config& cfg);

}  // namespace brood::cli

#pragma once
// The logging options (request logs (disable-logging, log-4xx, log-5xx, log-format), logger, logto,
// log-maxsize, daemonize) and their conversion into node::node_config. Part of the one option table
// (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"

namespace brood::cli {

// The "Logging" group of `brood --help`.
boost::program_options::options_description log_option_group(unsigned help_width);

// Fills cfg.log from stored options.
void apply_log_options(const boost::program_options::variables_map& vm, node::node_config& cfg);

}  // namespace brood::cli

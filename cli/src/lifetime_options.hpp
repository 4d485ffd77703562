#pragma once
// The worker lifetime options (harakiri, max-requests, max-worker-lifetime, reload-on-rss and the
// other recycling options) and their conversion into node::node_config. Part of the one option
// table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"

namespace brood::cli {

// The "Worker lifetime" group of `brood --help`.
boost::program_options::options_description lifetime_option_group(unsigned help_width);

// Fills cfg.lifetime from stored options.
void apply_lifetime_options(const boost::program_options::variables_map& vm,
                            node::node_config& cfg);

}  // namespace brood::cli

#pragma once
// The subscription client's options (docs/uwsgi-compat.md §10: subscribe-to, subscribe2,
// subscribe-freq, weight, auto-weight, ...) and their conversion into
// node::node_config::subscription. Part of the one option table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"

namespace brood::cli {

// The "Subscriptions" group of `brood --help`.
boost::program_options::options_description subscription_option_group(unsigned help_width);

// Fills cfg.subscription from stored options; any target sets cfg.master (the master sends
// them). Throws option_error naming the option and the fault for a value that does not parse.
void apply_subscription_options(const boost::program_options::variables_map& vm,
                                node::node_config& cfg);

}  // namespace brood::cli

#pragma once
// The emperor options (docs/uwsgi-compat.md §4.5) and their conversion to emperor::emperor_config.
// Part of the one option table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/emperor/config.hpp"

namespace brood::cli {

// The "Emperor" group of `brood --help`.
boost::program_options::options_description emperor_option_group(unsigned help_width);

// Builds the emperor configuration from stored options (its sources empty when `emperor` is not
// given: the node role). Throws option_error when the values contradict each other
// (emperor-max-throttle below emperor-throttle).
emperor::emperor_config to_emperor_config(const boost::program_options::variables_map& vm);

}  // namespace brood::cli

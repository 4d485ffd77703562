#pragma once
// The spooler options (docs/uwsgi-compat.md §3.6, plus brood's retry options) and their conversion
// to spooler::spooler_config. Part of the one option table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"

namespace brood::cli {

// The "Spooler" group of `brood --help`.
boost::program_options::options_description spooler_option_group(unsigned help_width);

// Builds the spooler configuration from stored options. Throws option_error when the values
// contradict each other (spooler-retry-max-delay below spooler-retry-delay).
spooler::spooler_config to_spooler_config(const boost::program_options::variables_map& vm);

}  // namespace brood::cli

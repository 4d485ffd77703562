#pragma once
// The legion options (docs/config.md "Legion", docs/uwsgi-compat.md §18) and their conversion to
// legion::config. Part of the one option table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/legion/config.hpp"

namespace brood::cli {

// The "Legion" group of `brood --help`.
boost::program_options::options_description legion_option_group(unsigned help_width);

// Builds the legions of the process from stored options: every `legion` value first, then the
// options naming a legion (whatever their order in the files), then the timing. Throws
// option_error naming the option and what was wrong (an unknown legion, a bad address,
// `legion-mcast`, heartbeat not below half the lease ...).
legion::config to_legion_config(const boost::program_options::variables_map& vm);

}  // namespace brood::cli

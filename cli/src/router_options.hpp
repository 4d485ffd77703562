#pragma once
// The router (fastrouter) options (docs/uwsgi-compat.md §10) and their conversion into
// router::router_config. Part of the one option table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/router/config.hpp"

namespace brood::cli {

// The "Router" group of `brood --help`.
boost::program_options::options_description router_option_group(unsigned help_width);

// The router's configuration from stored options; wanted() when --fastrouter is given. Throws
// option_error for a value refused as a whole (a bad subscriptions-sign-check).
router::router_config to_router_config(const boost::program_options::variables_map& vm);

}  // namespace brood::cli

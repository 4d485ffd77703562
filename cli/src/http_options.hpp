#pragma once
// The http sockets options (http-socket, http11-socket, http, https, http-keepalive, http-timeout,
// http-auto-chunked, post-buffering, add-header, static-map) and their conversion into
// node::node_config. Part of the one option table (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"

namespace brood::cli {

// The "HTTP sockets" group of `brood --help`.
boost::program_options::options_description http_option_group(unsigned help_width);

// Fills cfg.http from stored options.
void apply_http_options(const boost::program_options::variables_map& vm, node::node_config& cfg);

}  // namespace brood::cli

#pragma once
// The one table of the options a node understands (names, short forms, defaults, help), and their
// conversion to node::node_config. A new option is added here and nowhere else.
#include <string>
#include <string_view>

#include <boost/program_options.hpp>

#include "brood/node/config.hpp"
#include "brood/python/host.hpp"

namespace brood::cli {

// Every option `brood` accepts on its command line and in ini files, with its help text.
const boost::program_options::options_description& option_table();

// The canonical name of `name`: "workers" -> "processes", "uwsgi-socket" -> "socket";
// any other name is returned unchanged.
std::string canonical_option(std::string_view name);

// Builds the node configuration from stored (and notified) options.
node::node_config to_node_config(const boost::program_options::variables_map& vm);

// The Python application options (module, wsgi-file, callable, pythonpath, lazy-apps). Throws
// option_error for a `plugin` value other than python/python3 (uWSGI ini files name them).
python::app_options to_app_options(const boost::program_options::variables_map& vm);

}  // namespace brood::cli

#pragma once
// The process and files options (chdir, uid/gid, env, pidfile, vacuum, chmod-socket, chown-socket,
// procname*, die-on-term, touch-reload, attach-daemon, exec-*/hook-*, and the switches uWSGI
// configs carry) and their conversion into node::node_config. Part of the one option table
// (option_table.hpp).
#include <boost/program_options.hpp>

#include "brood/node/config.hpp"
#include "brood/python/host.hpp"

namespace brood::cli {

// The "Process and files" group of `brood --help`.
boost::program_options::options_description process_option_group(unsigned help_width);

// Fills cfg.process from stored options.
void apply_process_options(const boost::program_options::variables_map& vm, node::node_config& cfg);

// Fills the Python side: need-app, virtualenv (home, venv, pyhome).
void apply_process_app_options(const boost::program_options::variables_map& vm,
                               python::app_options& app);

}  // namespace brood::cli

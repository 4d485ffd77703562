#pragma once
// The `brood` command: options from the command line and ini files (uWSGI's option names), and
// the roles it picks (a node, `brood call`, `brood ping`, --help, --version).
// Programs that embed a node with their own C++ handlers call run() with a setup function.
#include <functional>

#include "brood/node/router.hpp"
#include "brood/spooler/spool.hpp"

namespace brood::cli {

// Registers a program's handlers on the node's router before the workers are forked.
using router_setup = std::function<void(node::router&)>;

// The whole command: parses argv, runs the chosen role, returns the exit status. Errors (unknown
// option, bad value, missing ini file) are printed to stderr naming what was wrong, status 2.
// Never calls exit().
int run(int argc, char** argv, const router_setup& setup = {});
// The same, for programs that also run spooler tasks with their own C++ handler (used when the
// node has `spooler` dirs and no Python app sets uwsgi.spooler).
int run(int argc, char** argv, const router_setup& setup, const spooler::spool_handler& spooler);

}  // namespace brood::cli

#pragma once
// logto, daemonize and log-maxsize (docs/config.md "Logging"): where the node's output goes.
// Applied by the CLI once the options are parsed, before the node or emperor starts, so every
// process it forks inherits the destination.
#include "brood/node/log_config.hpp"

namespace brood::cli {

// daemonize: forks; the parent gets 0 back (its status: it exits), the child detaches (setsid,
// stdin from /dev/null) and goes on. logto: stdout and stderr append to the file; with
// log_maxsize, through a pipe to a logger process that writes the file and rotates it (it ends
// when every process of the node has closed the pipe). Returns -1 to go on, or the status the
// caller exits with (0 for the daemonizing parent; 1 with a message on stderr when the file
// cannot be opened).
int redirect_output(const node::log_config& cfg);

}  // namespace brood::cli

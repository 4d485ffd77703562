#pragma once
// Process and files: chdir, uid/gid, env, pidfile, vacuum, chmod-socket, chown-socket, procname*,
// die-on-term, touch-reload, attach-daemon, exec-*/hook-*, and the switches uWSGI configs carry.
// Filled by the CLI (cli/src/process_options.cpp).
namespace brood::node {

struct process_config {};

}  // namespace brood::node

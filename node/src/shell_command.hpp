#pragma once
// Running a command line with /bin/sh -c, as uWSGI's exec hooks and attached daemons do: the
// child starts with every signal unblocked and at its default disposition (the master blocks
// the signals it reads with signalfd), and with the caller's fds 0-2.
#include <sys/types.h>

#include <string>

#include "brood/os/status.hpp"

namespace brood::node {

// Starts `/bin/sh -c command`; its pid. `new_session`: the child calls setsid() (a daemon,
// kept out of the terminal's process group). Error: "cannot run \"CMD\": <strerror>".
os::result<pid_t> spawn_shell(const std::string& command, bool new_session = false);

// Runs `/bin/sh -c command` and waits for it: its wait status. Error as spawn_shell.
os::result<int> run_shell(const std::string& command);

}  // namespace brood::node

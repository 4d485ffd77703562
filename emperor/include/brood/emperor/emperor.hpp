#pragma once
// The emperor process: `brood --emperor DIR|GLOB`. Wires the vassal monitor (inotify and a scan
// every emperor-freq), the real process launcher, the signals and the stats server to one
// emperor_core, on one thread. Signals: INT/TERM/QUIT stop every vassal and return once they
// have exited (SIGKILL after `mercy`); HUP reloads every vassal; URG clears the blacklist; USR1
// logs the vassal list; CHLD reaps.
#include "brood/emperor/config.hpp"

namespace brood::emperor {

// Runs until stopped by a signal. Returns 0 after a stop, 1 when it cannot start (a stats
// address that cannot be bound, no signalfd) with the reason logged.
// REQUIRES: the calling thread is the only thread of the process (vassals are forked).
int run_emperor(const emperor_config& cfg);

}  // namespace brood::emperor

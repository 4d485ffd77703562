#pragma once
// Per-step timestamps for measuring a path across processes (the fork server's adoption:
// emperor, base, spare, worker). Off unless the environment has BROOD_STEP_TRACE=FILE: then each
// call appends one line "STEP <name> <pid> <CLOCK_MONOTONIC ns> <the process's CPU ns>
// <its minor faults>" to FILE with a single write(2)
// (O_APPEND, so lines of concurrent processes never interleave). The file is opened and closed
// at each call, so no fd is kept across the fd clean-ups of a forked vassal. Costs one getenv
// when off; never allocates.
namespace brood::os {

void step_trace(const char* name) noexcept;

}  // namespace brood::os

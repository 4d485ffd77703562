#pragma once
// Per-step timestamps for measuring a path across processes (the fork server's adoption:
// emperor, base, spare, worker). Off unless the environment has BROOD_STEP_TRACE=FILE: then each
// call appends one line "STEP <name> <pid> <CLOCK_MONOTONIC ns> <the process's CPU ns>
// <its minor faults>" to FILE with a single write(2)
// (O_APPEND, so lines of concurrent processes never interleave). The process CPU time comes from
// getrusage (microseconds). The file is opened once and its fd kept (close-on-exec, numbered 200
// or above; forked children share it); each call checks with fstat that the fd is still that
// file (a forked vassal's fd clean-up may close it and reuse its number) and opens it again when
// not: three system calls per line. Thread-safe. Costs one getenv when off; never allocates.
namespace brood::os {

void step_trace(const char* name) noexcept;

}  // namespace brood::os

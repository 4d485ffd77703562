#pragma once
// The demo's CPU work: counting primes in a range by trial division (deliberately plain, so a
// range of a few million numbers keeps one core busy for about a second).
#include <cstdint>

namespace primes {

// modifier2 of the marshalled messages (modifier1 33) a primes node answers.
enum class job : std::uint8_t {
  echo = 0,    // the message comes back unchanged (benchmarks)
  count = 17,  // message [lo, hi] -> {"count": n, "pid": p, "seconds": s}
  sleep = 98,  // message {"ms": n} -> sleeps n ms, then the worker pid (tests: requests in flight)
  pid = 99,    // anything -> the worker pid (tests: which worker answered)
};

// Ranges the node accepts: 0 <= lo <= hi <= max_hi and hi - lo <= max_width.
constexpr std::uint64_t max_hi = std::uint64_t{1} << 32;
constexpr std::uint64_t max_width = 100'000'000;

// The number of primes p with lo <= p < hi. REQUIRES: lo <= hi <= max_hi.
std::uint64_t count_primes(std::uint64_t lo, std::uint64_t hi);

}  // namespace primes

#pragma once
// Constants and helpers shared by the master_core_*.cpp files.
#include <chrono>

namespace brood::node::detail {

using namespace std::chrono_literals;

// A failed fork is retried after this.
inline constexpr std::chrono::steady_clock::duration fork_retry = 1s;
// How often the spooler processes' harakiri deadlines are checked.
inline constexpr std::chrono::steady_clock::duration harakiri_period = 1s;

inline long long ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace brood::node::detail

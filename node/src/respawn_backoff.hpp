#pragma once
// The master's crash-loop rule for the processes it respawns (workers, spooler processes): a
// process that dies sooner than `fast_death` after its spawn counts as a crash-loop death; the
// first is respawned at once, the next ones after a delay doubling from `first_backoff` up to
// `max_backoff`. A process that lived longer resets the count.
#include <algorithm>
#include <chrono>

namespace brood::node {

class respawn_backoff {
 public:
  using duration = std::chrono::steady_clock::duration;
  static constexpr duration fast_death = std::chrono::seconds(1);
  static constexpr duration first_backoff = std::chrono::milliseconds(100);
  static constexpr duration max_backoff = std::chrono::milliseconds(4000);

  // Records a death after `lived`; returns the delay before the respawn (zero: at once).
  duration on_death(duration lived) noexcept {
    fast_deaths_ = lived < fast_death ? fast_deaths_ + 1 : 0;
    if (fast_deaths_ <= 1) return duration::zero();
    return std::min<duration>(first_backoff * (1u << std::min(fast_deaths_ - 2, 10u)), max_backoff);
  }
  // A clean exit or a new generation: the count starts over.
  void reset() noexcept { fast_deaths_ = 0; }

 private:
  unsigned fast_deaths_ = 0;
};

}  // namespace brood::node

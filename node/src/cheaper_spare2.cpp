// cheaper-algo spare2 (uWSGI [master] only, docs/uwsgi-compat.md §7.5): keep `cheaper` idle
// workers. One decision per check (check-interval; each decide() is one check):
//
// - fewer free workers than `cheaper`: reset the idle counter and, when spawning is allowed,
//   spawn min(cheaper - free, cheaped slots, cheaper-step);
// - exactly `cheaper` free: reset the counter, nothing;
// - more: count the check; at cheaper-idle checks in a row (cfg.idle, 0: uWSGI's 10) reset the
//   counter and cheap one.
//
// Unlike uWSGI's master branch (issue #2467: spare2 never spawns there), this one spawns.
// "Free" is idle or starting (cheaper_algorithms.hpp), so a spawn that is booting is not
// repeated at the next check.
#include <algorithm>
#include <memory>
#include <string>

#include "cheaper_algorithms.hpp"

namespace brood::node {
namespace {

// uWSGI's cheaper-idle default, in checks.
constexpr unsigned default_idle_checks = 10;

class spare2_algorithm final : public cheaper_algorithm {
 public:
  explicit spare2_algorithm(const cheaper_config& cfg)
      : cheaper_(cfg.cheaper),
        step_(cheaper_step(cfg)),
        idle_checks_(cfg.idle.count() > 0 ? static_cast<unsigned>(cfg.idle.count())
                                          : default_idle_checks) {}

  cheaper_algo kind() const noexcept override { return cheaper_algo::spare2; }

  cheaper_decision decide(const pool_snapshot& s) override {
    const unsigned free = free_workers(s);
    if (free <= cheaper_) {
      idle_count_ = 0;
      if (free == cheaper_ || !s.can_spawn) return {};
      const unsigned n = std::min({cheaper_ - free, cheaped_slots(s), step_});
      if (n == 0) return {};
      return {static_cast<int>(n), std::to_string(free) + " free, want " +
                                       std::to_string(cheaper_) + ": spawn " + std::to_string(n)};
    }
    if (++idle_count_ < idle_checks_) return {};
    idle_count_ = 0;
    return {-1, std::to_string(free) + " free for " + std::to_string(idle_checks_) +
                    " checks, want " + std::to_string(cheaper_) + ": cheap 1"};
  }

 private:
  unsigned cheaper_;
  unsigned step_;
  unsigned idle_checks_;
  unsigned idle_count_ = 0;  // checks in a row with more than `cheaper` free workers
};

}  // namespace

std::unique_ptr<cheaper_algorithm> make_spare2_algorithm(const cheaper_config& cfg) {
  return std::make_unique<spare2_algorithm>(cfg);
}

}  // namespace brood::node

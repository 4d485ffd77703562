// cheaper-algo spare, uWSGI's default (docs/uwsgi-compat.md §7.3), one decision per check:
//
// - overload_count goes up by one at every check with no free worker (and idle_count is reset),
//   and down by one (not below 0) at every check with one;
// - when spawning is allowed and overload_count > cheaper-overload (2.0.x's strict test: with
//   the default 3, the 4th fully busy check in a row), spawn min(cheaper-step, cheaped slots)
//   and reset overload_count;
// - else, when overload_count is 0: exactly one free worker is the stable state (nothing);
//   otherwise idle_count goes up, and every cheaper-overload-th such check with more than
//   `cheaper` active workers cheaps one.
//
// "Free" is idle or starting (cheaper_algorithms.hpp): a worker still booting is capacity that
// is on its way, so a pool that is starting up does not spawn again.
#include <algorithm>
#include <memory>
#include <string>

#include "cheaper_algorithms.hpp"

namespace brood::node {
namespace {

class spare_algorithm final : public cheaper_algorithm {
 public:
  explicit spare_algorithm(const cheaper_config& cfg)
      : cheaper_(cfg.cheaper), step_(cheaper_step(cfg)), overload_(cheaper_overload(cfg)) {}

  cheaper_algo kind() const noexcept override { return cheaper_algo::spare; }

  cheaper_decision decide(const pool_snapshot& s) override {
    const unsigned free = free_workers(s);
    count_overload(free);
    if (s.can_spawn && overload_count_ > overload_) {
      overload_count_ = 0;
      const unsigned n = std::min(step_, cheaped_slots(s));
      if (n == 0) return {};
      return {static_cast<int>(n), "no free worker for " + std::to_string(overload_ + 1) +
                                       " checks: spawn " + std::to_string(n)};
    }
    if (overload_count_ != 0 || free == 1) return {};  // overloaded lately, or stable
    ++idle_count_;
    if (s.active() > cheaper_ && idle_count_ % overload_ == 0)
      return {-1, std::to_string(free) + " free workers for " + std::to_string(idle_count_) +
                      " checks: cheap 1"};
    return {};
  }

 private:
  void count_overload(unsigned free) noexcept {
    if (free > 0) {
      if (overload_count_ > 0) --overload_count_;
      return;
    }
    ++overload_count_;
    idle_count_ = 0;
  }

  unsigned cheaper_;
  unsigned step_;
  unsigned overload_;
  unsigned overload_count_ = 0;  // checks with no free worker, less those with one
  unsigned idle_count_ = 0;      // checks with more than one free worker since the last overload
};

}  // namespace

std::unique_ptr<cheaper_algorithm> make_spare_algorithm(const cheaper_config& cfg) {
  return std::make_unique<spare_algorithm>(cfg);
}

}  // namespace brood::node

// cheaper-algo brood, brood's own (the default when `cheaper` is set without cheaper-algo).
// Event-driven: master_core calls it at every check, when the last idle worker takes a request
// (pressure) and at the recheck_at it asks for. The rule:
//
//   demand = busy workers + connections waiting in the listen queue (snapshot.backlog)
//   want   = clamp(demand + 1, cheaper, processes)
//            (one idle worker beyond the demand, so the next request never waits for a fork)
//   for every level k <= want: last_needed[k] = now  (the last time the pool needed k workers;
//   at the first evaluation also for k <= active: cheaper-initial workers stay one window)
//
//   grow:   want > active (starting counts as active) and spawning allowed:
//           spawn want - active at once (cheaper-step does not limit this algorithm)
//   shrink: keep = the largest k with now - last_needed[k] < window, at least `cheaper`
//           (window = cheaper-idle, 8 s when not set); active > keep: cheap active - keep
//           (the caller cheaps idle workers only; the rest follows at later evaluations)
//
//   recheck_at, the earliest of:
//     - active > cheaper: when the next level is released, last_needed[L] + window for
//       L = min(active, keep) (levels below it were needed at least as recently);
//     - no idle or starting worker and active < processes: now + 100 ms (a growing queue);
//     nullopt when neither applies.
//
// So a load step is met within one evaluation with the whole pool it needs, and a pool that
// was needed within the window stays: bursts shorter than the window apart never shrink it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cheaper_algorithms.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;
using time_point = pool_snapshot::time_point;

// The window when cheaper-idle is not set.
constexpr std::chrono::seconds default_window = 8s;
// How soon to look again while every worker is busy and a slot is free.
constexpr std::chrono::milliseconds pressure_recheck = 100ms;

std::string seconds_text(std::chrono::steady_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

class brood_algorithm final : public cheaper_algorithm {
 public:
  brood_algorithm(const cheaper_config& cfg, unsigned processes)
      : cheaper_(cfg.cheaper),
        processes_(processes),
        window_(cfg.idle.count() > 0 ? std::chrono::steady_clock::duration(cfg.idle)
                                     : default_window),
        last_needed_(processes + 1) {}

  cheaper_algo kind() const noexcept override { return cheaper_algo::brood; }
  bool event_driven() const noexcept override { return true; }

  cheaper_decision decide(const pool_snapshot& s) override {
    const unsigned busy = s.count(pool_slot::busy);
    const std::uint64_t demand = busy + s.backlog;
    const unsigned want =
        static_cast<unsigned>(std::clamp<std::uint64_t>(demand + 1, cheaper_, processes_));
    const unsigned active = s.active();
    // The workers running at the first evaluation (cheaper-initial) count as needed then: they
    // stay for one window unless the load needs them longer.
    const unsigned needed_now = started_ ? want : std::max(want, std::min(active, processes_));
    started_ = true;
    for (unsigned k = 1; k <= needed_now; ++k) last_needed_[k] = s.now;
    const unsigned keep = kept_level(s.now);
    cheaper_decision d;
    const std::string demand_text = std::to_string(busy) + " busy + " + std::to_string(s.backlog) +
                                    " queued: want " + std::to_string(want) + ", have " +
                                    std::to_string(active);
    if (want > active) {
      const unsigned n = s.can_spawn ? std::min(want - active, cheaped_slots(s)) : 0;
      d.workers = static_cast<int>(n);
      d.why = demand_text + (n > 0         ? ": spawn " + std::to_string(n)
                             : s.can_spawn ? ": no cheaped slot"
                                           : ": spawning not allowed");
    } else if (active > keep) {
      d.workers = -static_cast<int>(active - keep);
      d.why = "want " + std::to_string(keep) + " for " + seconds_text(window_) + ", have " +
              std::to_string(active) + ": cheap " + std::to_string(active - keep);
    }
    d.recheck_at = recheck_at(s, active, keep);
    return d;
  }

 private:
  // The largest level needed within the window, at least `cheaper`. Levels are needed at
  // times that do not increase with k, so the first expired level ends the search.
  unsigned kept_level(time_point now) const noexcept {
    unsigned keep = cheaper_;
    for (unsigned k = cheaper_ + 1; k <= processes_; ++k) {
      if (!last_needed_[k] || now - *last_needed_[k] >= window_) break;
      keep = k;
    }
    return keep;
  }

  std::optional<time_point> recheck_at(const pool_snapshot& s, unsigned active,
                                       unsigned keep) const {
    std::optional<time_point> at;
    const unsigned level = std::min(active, keep);
    if (active > cheaper_ && level > cheaper_) at = *last_needed_[level] + window_;
    if (free_workers(s) == 0 && active < processes_) {
      const time_point soon = s.now + pressure_recheck;
      if (!at || soon < *at) at = soon;
    }
    return at;
  }

  unsigned cheaper_;
  unsigned processes_;
  std::chrono::steady_clock::duration window_;
  bool started_ = false;  // decide() ran once
  // [k]: the last evaluation at which the pool needed k workers; [0] unused.
  std::vector<std::optional<time_point>> last_needed_;
};

}  // namespace

std::unique_ptr<cheaper_algorithm> make_brood_algorithm(const cheaper_config& cfg,
                                                        unsigned processes) {
  return std::make_unique<brood_algorithm>(cfg, processes);
}

}  // namespace brood::node

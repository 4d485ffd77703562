#pragma once
// cheaper-algo busyness (docs/uwsgi-compat.md §7.6): spawn when the workers were busy more than
// cheaper-busyness-max % of the last period, cheap when less than -min %, with a cheap timer
// that backs off after quick respawns and emergency spawns on a long listen queue.
// One decide() per check (check-interval); the computation runs every cheaper-overload seconds
// of snapshot.now. Private to brood::node (make_busyness_algorithm builds it).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "brood/node/cheaper_config.hpp"
#include "cheaper_algorithm.hpp"

namespace brood::node {

class busyness_algorithm final : public cheaper_algorithm {
 public:
  using time_point = pool_snapshot::time_point;
  using duration = std::chrono::steady_clock::duration;

  // REQUIRES: cfg.cheaper < processes.
  busyness_algorithm(const cheaper_config& cfg, unsigned processes);

  cheaper_algo kind() const noexcept override { return cheaper_algo::busyness; }
  cheaper_decision decide(const pool_snapshot& s) override;

 private:
  void start(const pool_snapshot& s);
  void track(const pool_snapshot& s);
  unsigned average_busyness(const pool_snapshot& s);
  cheaper_decision compute(const pool_snapshot& s);
  cheaper_decision overloaded(const pool_snapshot& s, unsigned avg);
  cheaper_decision underloaded(const pool_snapshot& s, unsigned avg);
  void steady(const pool_snapshot& s);
  cheaper_decision emergency(const pool_snapshot& s);
  void decrease_multiplier() noexcept;
  duration cheap_wait() const noexcept;
  // cheaper-busyness-verbose: one line per computation.
  void log_computation(const pool_snapshot& s, unsigned avg, const cheaper_decision& d) const;

  // Options.
  unsigned cheaper_;
  unsigned processes_;
  unsigned step_;
  duration period_;  // cheaper-overload seconds: between two computations
  busyness_options opt_;

  bool started_ = false;
  time_point last_computation_{};
  std::vector<std::uint64_t> prev_busy_us_;  // [id]: busy_us at the last computation
  std::vector<unsigned> was_busy_;           // [id]: checks seen busy since then
  std::vector<unsigned> last_busyness_;      // [id]: % at the last computation (verbose log)
  unsigned multiplier_;                      // cheap timer: period * multiplier
  time_point next_cheap_{};                  // no cheap before
  std::optional<time_point> last_cheaped_;
  bool last_was_cheap_ = false;
  unsigned tolerance_ = 0;  // computations in a row within [min, max]
  unsigned emergency_ = 0;  // emergency workers not yet taken back
  std::optional<time_point> backlog_nonzero_since_;
};

}  // namespace brood::node

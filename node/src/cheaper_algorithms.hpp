#pragma once
// The cheaper algorithms' constructors (one per cheaper_*.cpp, chosen by make_cheaper_algorithm
// in cheaper_factory.cpp) and the small rules they share. Private to brood::node.
#include <algorithm>
#include <memory>

#include "brood/node/cheaper_config.hpp"
#include "cheaper_algorithm.hpp"

namespace brood::node {

// REQUIRES of each: cfg.enabled(), cfg.cheaper < processes (make_cheaper_algorithm's).
std::unique_ptr<cheaper_algorithm> make_spare_algorithm(const cheaper_config& cfg);
std::unique_ptr<cheaper_algorithm> make_spare2_algorithm(const cheaper_config& cfg);
std::unique_ptr<cheaper_algorithm> make_backlog_algorithm(const cheaper_config& cfg);
std::unique_ptr<cheaper_algorithm> make_busyness_algorithm(const cheaper_config& cfg,
                                                           unsigned processes);
std::unique_ptr<cheaper_algorithm> make_manual_algorithm();
std::unique_ptr<cheaper_algorithm> make_brood_algorithm(const cheaper_config& cfg,
                                                        unsigned processes);

// cheaper-step as uWSGI reads it: 0 acts as 1.
inline unsigned cheaper_step(const cheaper_config& cfg) noexcept { return std::max(cfg.step, 1u); }

// cheaper-overload, never 0 (it divides and it counts checks).
inline unsigned cheaper_overload(const cheaper_config& cfg) noexcept {
  return std::max(cfg.overload, 1u);
}

// Workers that can take a request now or very soon: idle ones and starting ones. uWSGI has no
// "starting" state (a forked worker counts as idle at once); counting starting workers as free
// capacity keeps spare, spare2 and backlog from spawning again while the last spawn boots.
inline unsigned free_workers(const pool_snapshot& s) noexcept {
  return s.count(pool_slot::idle) + s.count(pool_slot::starting);
}

// Slots a spawn may use.
inline unsigned cheaped_slots(const pool_snapshot& s) noexcept { return s.count(pool_slot::cheap); }

}  // namespace brood::node

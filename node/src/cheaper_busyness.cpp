// cheaper-algo busyness (docs/uwsgi-compat.md §7.6). Every check: count each active worker busy now
// (was_busy) and how long the listen queue has been non-empty. Every cheaper-overload seconds,
// a computation: each active worker's busyness is its busy time in the period * 100 / the
// period (capped at 100; 100 when the time did not move but it was seen busy), averaged over
// the active workers; then
//
// - avg > max: spawn min(cheaper-step, cheaped slots); the multiplier grows by the penalty when
//   the last cheap was within period * multiplier (a quick respawn), else shrinks by one down to
//   its initial value; next_cheap = now + period * multiplier;
// - else a backlog emergency (below) spawns;
// - else, with more than one active worker, avg < min: at or after next_cheap and with more than
//   `cheaper` active, cheap one (the multiplier shrinks when the previous action was a cheap too)
//   and reset the timer;
// - else, with more than one active worker (min <= avg <= max): tolerance counts up; below 3 the
//   cheap is pushed back by one period, from 3 on the timer is reset.
//
// Emergency (checked at every check): spawning allowed, fewer than `processes` active, and the
// queue above backlog-alert or non-empty for backlog-nonzero: spawn backlog-step workers, reset
// the multiplier; while emergency workers remain the cheap timer is period * backlog-multiplier.
//
// Difference from uWSGI (issue #1463): the busy time is snapshot.busy_us (completed requests and
// the one in flight), not only completed requests, so a long request counts in every period it
// spans. The period is the time really elapsed since the last computation. A busy time that went
// down (a worker killed mid-request loses its request in flight) counts as 0.
#include "cheaper_busyness.hpp"

#include <algorithm>
#include <memory>
#include <sstream>

#include "brood/os/log.hpp"
#include "cheaper_algorithms.hpp"

namespace brood::node {
namespace {

constexpr unsigned full = 100;             // % busy
constexpr unsigned tolerance_periods = 3;  // mid-band computations before the timer resets

std::string percent(unsigned v) { return std::to_string(v) + "%"; }

}  // namespace

busyness_algorithm::busyness_algorithm(const cheaper_config& cfg, unsigned processes)
    : cheaper_(cfg.cheaper),
      processes_(processes),
      step_(cheaper_step(cfg)),
      period_(std::chrono::seconds(cheaper_overload(cfg))),
      opt_(cfg.busyness),
      prev_busy_us_(processes + 1),
      was_busy_(processes + 1),
      last_busyness_(processes + 1),
      multiplier_(cfg.busyness.multiplier) {}

cheaper_decision busyness_algorithm::decide(const pool_snapshot& s) {
  if (!started_) start(s);
  track(s);
  if (s.now - last_computation_ >= period_) return compute(s);
  return emergency(s);
}

void busyness_algorithm::start(const pool_snapshot& s) {
  started_ = true;
  last_computation_ = s.now;
  for (const pool_worker& w : s.workers)
    if (w.id < prev_busy_us_.size()) prev_busy_us_[w.id] = s.busy_us(w);
  next_cheap_ = s.now + cheap_wait();
}

void busyness_algorithm::track(const pool_snapshot& s) {
  for (const pool_worker& w : s.workers) {
    if (w.id >= was_busy_.size()) continue;
    const bool active =
        w.state == pool_slot::starting || w.state == pool_slot::idle || w.state == pool_slot::busy;
    if (!active)
      was_busy_[w.id] = 0;
    else if (w.state == pool_slot::busy)
      ++was_busy_[w.id];
  }
  if (s.backlog == 0)
    backlog_nonzero_since_.reset();
  else if (!backlog_nonzero_since_)
    backlog_nonzero_since_ = s.now;
}

unsigned busyness_algorithm::average_busyness(const pool_snapshot& s) {
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(s.now - last_computation_);
  const std::uint64_t period_us = std::max<std::int64_t>(elapsed.count(), 1);
  last_computation_ = s.now;
  std::uint64_t sum = 0;
  unsigned active = 0;
  for (const pool_worker& w : s.workers) {
    if (w.id >= prev_busy_us_.size()) continue;
    const std::uint64_t now_busy = s.busy_us(w);
    const std::uint64_t delta = now_busy > prev_busy_us_[w.id] ? now_busy - prev_busy_us_[w.id] : 0;
    prev_busy_us_[w.id] = now_busy;
    unsigned pct = static_cast<unsigned>(std::min<std::uint64_t>(delta * full / period_us, full));
    if (delta == 0 && was_busy_[w.id] > 0) pct = full;
    was_busy_[w.id] = 0;
    last_busyness_[w.id] = pct;
    if (w.state == pool_slot::cheap || w.state == pool_slot::stopping) continue;
    sum += pct;
    ++active;
  }
  return active == 0 ? 0 : static_cast<unsigned>(sum / active);
}

cheaper_decision busyness_algorithm::compute(const pool_snapshot& s) {
  const unsigned avg = average_busyness(s);
  cheaper_decision d;
  if (avg > opt_.max) {
    d = overloaded(s, avg);
  } else if (d = emergency(s); d.workers == 0 && s.active() > 1) {
    if (avg < opt_.min)
      d = underloaded(s, avg);
    else
      steady(s);
  }
  if (opt_.verbose) log_computation(s, avg, d);
  return d;
}

cheaper_decision busyness_algorithm::overloaded(const pool_snapshot& s, unsigned avg) {
  tolerance_ = 0;
  if (last_cheaped_ && s.now - *last_cheaped_ < period_ * multiplier_)
    multiplier_ += opt_.penalty;
  else
    decrease_multiplier();
  next_cheap_ = s.now + cheap_wait();
  last_was_cheap_ = false;
  const unsigned n = s.can_spawn ? std::min(step_, cheaped_slots(s)) : 0;
  if (n == 0) return {};
  return {static_cast<int>(n),
          "busyness " + percent(avg) + " > " + percent(opt_.max) + ": spawn " + std::to_string(n)};
}

cheaper_decision busyness_algorithm::underloaded(const pool_snapshot& s, unsigned avg) {
  tolerance_ = 0;
  if (s.active() <= cheaper_ || s.now < next_cheap_) return {};
  if (last_was_cheap_) decrease_multiplier();
  last_was_cheap_ = true;
  last_cheaped_ = s.now;
  next_cheap_ = s.now + cheap_wait();
  if (emergency_ > 0) --emergency_;
  return {-1, "busyness " + percent(avg) + " < " + percent(opt_.min) + ": cheap 1"};
}

void busyness_algorithm::steady(const pool_snapshot& s) {
  if (emergency_ > 0) --emergency_;
  if (++tolerance_ >= tolerance_periods)
    next_cheap_ = s.now + cheap_wait();
  else
    next_cheap_ += period_;
}

cheaper_decision busyness_algorithm::emergency(const pool_snapshot& s) {
  if (!s.can_spawn || s.active() >= processes_) return {};
  const bool alert = s.backlog > opt_.backlog_alert;
  const bool stuck =
      backlog_nonzero_since_ && s.now - *backlog_nonzero_since_ >= opt_.backlog_nonzero;
  if (!alert && !stuck) return {};
  const unsigned n = std::min(std::max(opt_.backlog_step, 1u), cheaped_slots(s));
  if (n == 0) return {};
  if (stuck) backlog_nonzero_since_ = s.now;  // one emergency per backlog-nonzero period
  multiplier_ = opt_.multiplier;
  emergency_ += n;
  next_cheap_ = s.now + cheap_wait();
  last_was_cheap_ = false;
  const std::string cause = alert ? " > " + std::to_string(opt_.backlog_alert)
                                  : " for " + std::to_string(opt_.backlog_nonzero.count()) + " s";
  return {static_cast<int>(n), "backlog " + std::to_string(s.backlog) + cause +
                                   ": emergency spawn " + std::to_string(n)};
}

void busyness_algorithm::decrease_multiplier() noexcept {
  multiplier_ = multiplier_ > opt_.multiplier ? multiplier_ - 1 : opt_.multiplier;
}

busyness_algorithm::duration busyness_algorithm::cheap_wait() const noexcept {
  return period_ * (emergency_ > 0 ? opt_.backlog_multiplier : multiplier_);
}

void busyness_algorithm::log_computation(const pool_snapshot& s, unsigned avg,
                                         const cheaper_decision& d) const {
  std::ostringstream line;
  line << "busyness " << avg << "% over " << s.active() << " active (max " << opt_.max << "%, min "
       << opt_.min << "%, multiplier " << multiplier_ << "):";
  for (const pool_worker& w : s.workers)
    if (w.state != pool_slot::cheap && w.state != pool_slot::stopping)
      line << ' ' << w.id << '=' << last_busyness_[w.id] << '%';
  if (!d.why.empty()) line << "; " << d.why;
  brood::os::log(line.str());
}

std::unique_ptr<cheaper_algorithm> make_busyness_algorithm(const cheaper_config& cfg,
                                                           unsigned processes) {
  return std::make_unique<busyness_algorithm>(cfg, processes);
}

}  // namespace brood::node

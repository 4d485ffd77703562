#pragma once
// The cheaper algorithms' test fixture: a fake worker pool (slots with states, busy time, the
// listen queue) on a fake steady clock and unix clock that only move when a test advances them,
// and snapshots of it as master_core would build them. apply() plays master_core's part for a
// decision (spawns into cheaped slots in id order, cheaps idle workers, never below `cheaper`).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "brood/node/cheaper_config.hpp"
#include "cheaper_algorithm.hpp"

namespace brood::node::testing {

using namespace std::chrono_literals;

class fake_pool {
 public:
  explicit fake_pool(unsigned slots) {
    for (unsigned id = 1; id <= slots; ++id) workers_.push_back(pool_worker{id});
  }

  std::uint64_t backlog = 0;
  bool can_spawn = true;

  pool_snapshot::time_point now() const { return now_; }
  pool_worker& at(unsigned id) { return workers_.at(id - 1); }

  // Slot `id` takes state `s`; a busy worker that stops being busy completes its request, a
  // worker that becomes busy starts one now.
  void set(unsigned id, pool_slot s) {
    pool_worker& w = at(id);
    if (w.state == pool_slot::busy && s != pool_slot::busy) {
      w.running_us += static_cast<std::uint64_t>(now_us_ - w.request_start_us);
      ++w.requests;
      w.request_start_us = 0;
    } else if (w.state != pool_slot::busy && s == pool_slot::busy) {
      w.request_start_us = now_us_;
    }
    w.state = s;
  }
  // Slots 1..busy busy, the next `idle` idle, the next `starting` starting, the rest cheaped.
  void shape(unsigned busy, unsigned idle, unsigned starting = 0) {
    for (unsigned id = 1; id <= workers_.size(); ++id)
      set(id, id <= busy                     ? pool_slot::busy
              : id <= busy + idle            ? pool_slot::idle
              : id <= busy + idle + starting ? pool_slot::starting
                                             : pool_slot::cheap);
  }
  // Closed-loop clients: the active workers (their number unchanged) serve min(clients,
  // active) of them, the rest wait in the listen queue.
  void load(unsigned clients) {
    const unsigned active = snapshot().active();
    const unsigned busy = std::min(clients, active);
    shape(busy, active - busy);
    backlog = clients - busy;
  }
  // master_core's clamping: spawn into cheaped slots (as idle workers), cheap idle ones but
  // never below `cheaper`.
  void apply(const cheaper_decision& d, unsigned cheaper) {
    int n = d.workers;
    for (pool_worker& w : workers_) {
      if (n <= 0 || w.state != pool_slot::cheap) continue;
      set(w.id, pool_slot::idle);
      --n;
    }
    for (auto it = workers_.rbegin(); n < 0 && it != workers_.rend(); ++it) {
      if (it->state != pool_slot::idle || snapshot().active() <= cheaper) continue;
      set(it->id, pool_slot::cheap);
      ++n;
    }
  }
  void advance(std::chrono::milliseconds d) {
    now_ += d;
    now_us_ += std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  }
  pool_snapshot snapshot() const {
    pool_snapshot s;
    s.now = now_;
    s.now_us = now_us_;
    s.workers = workers_;
    s.backlog = backlog;
    s.can_spawn = can_spawn;
    return s;
  }

 private:
  std::vector<pool_worker> workers_;
  pool_snapshot::time_point now_ = pool_snapshot::time_point{} + 1000h;
  std::int64_t now_us_ = 1'790'000'000'000'000;
};

// A pool of `slots` (8 unless a test changes it) and the algorithm under test.
class cheaper_fixture : public ::testing::Test {
 protected:
  static constexpr unsigned slots = 8;

  fake_pool pool{slots};
  cheaper_config cfg;
  std::unique_ptr<cheaper_algorithm> algo;

  cheaper_fixture() { cfg.cheaper = 2; }

  void make(cheaper_algo a) {
    cfg.algo = a;
    algo = make_cheaper_algorithm(cfg, slots);
  }
  // One check: decide on the pool as it is now.
  cheaper_decision check() { return algo->decide(pool.snapshot()); }
  // `n` checks one second apart (advancing before each); the decisions' workers.
  std::vector<int> checks(unsigned n) {
    std::vector<int> out;
    for (unsigned i = 0; i < n; ++i) {
      pool.advance(1s);
      out.push_back(check().workers);
    }
    return out;
  }
};

}  // namespace brood::node::testing

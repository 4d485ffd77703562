// cheaper-algo brood (cheaper_brood.cpp): want = clamp(busy + queued + 1, cheaper, processes),
// grown at once, shrunk to the largest level needed within the window (8 s by default).
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::node::testing {
namespace {

using std::chrono::milliseconds;

class cheaper_brood_test : public cheaper_fixture {
 protected:
  static constexpr milliseconds tick = 100ms;
  static constexpr milliseconds check_interval = 1s;

  struct sample {
    milliseconds t;   // since the start of run()
    unsigned active;  // after this tick's decision
    int workers;      // this tick's decision (0 when none was asked)
  };

  cheaper_brood_test() { make(cheaper_algo::brood); }

  // master_core's loop, in ticks of 100 ms over `length`: `clients(t)` closed-loop clients;
  // decide() at every check interval, at its recheck_at, and when no worker is free anymore
  // (pressure); each decision applied at once (a spawned worker is idle at the next tick).
  std::vector<sample> run(milliseconds length,
                          const std::function<unsigned(milliseconds)>& clients) {
    std::vector<sample> out;
    std::optional<pool_snapshot::time_point> recheck;
    bool was_free = true;
    for (milliseconds t{0}; t < length; t += tick) {
      pool.advance(tick);
      pool.load(clients(t));
      const pool_snapshot s = pool.snapshot();
      const bool free = s.count(pool_slot::idle) + s.count(pool_slot::starting) > 0;
      const bool due = (t + tick) % check_interval == 0ms || (recheck && *recheck <= s.now) ||
                       (was_free && !free);
      was_free = free;
      int workers = 0;
      if (due) {
        const cheaper_decision d = algo->decide(s);
        recheck = d.recheck_at;
        workers = d.workers;
        pool.apply(d, cfg.cheaper);
        pool.load(clients(t));
      }
      out.push_back({t, pool.snapshot().active(), workers});
    }
    return out;
  }
};

TEST_F(cheaper_brood_test, LoadStepSpawnsTheWholeDemandAtOnce) {
  pool.shape(1, 1);
  EXPECT_EQ(check().workers, 0);
  pool.shape(2, 0);
  pool.backlog = 6;
  const cheaper_decision d = check();
  EXPECT_EQ(d.workers, 6);
  EXPECT_EQ(d.why, "2 busy + 6 queued: want 8, have 2: spawn 6");
}

TEST_F(cheaper_brood_test, KeepsOneIdleWorkerBeyondTheDemand) {
  pool.shape(2, 0);
  EXPECT_EQ(check().workers, 1);
  pool.shape(2, 0, 1);
  EXPECT_EQ(check().workers, 0) << "a starting worker counts";
  pool.shape(3, 1);
  EXPECT_EQ(check().workers, 0);
}

TEST_F(cheaper_brood_test, CheaperInitialWorkersStayOneWindow) {
  const auto t0 = pool.now();
  pool.shape(0, 4);  // cheaper-initial 4, no load
  cheaper_decision d = check();
  EXPECT_EQ(d.workers, 0);
  EXPECT_EQ(d.recheck_at, t0 + 8s);
  pool.advance(8s);
  d = check();
  EXPECT_EQ(d.workers, -2);
}

TEST_F(cheaper_brood_test, CheapsAllTheExcessWhenTheWindowExpires) {
  const auto t0 = pool.now();
  pool.shape(8, 0);
  EXPECT_EQ(check().recheck_at, t0 + 8s);
  pool.shape(0, 8);
  for (int i = 1; i < 8; ++i) {
    pool.advance(1s);
    const cheaper_decision d = check();
    EXPECT_EQ(d.workers, 0) << i << " s";
    EXPECT_EQ(d.recheck_at, t0 + 8s);
  }
  pool.advance(1s);
  const cheaper_decision d = check();
  EXPECT_EQ(d.workers, -6);
  EXPECT_EQ(d.why, "want 2 for 8 s, have 8: cheap 6");
  EXPECT_EQ(d.recheck_at, std::nullopt);
}

TEST_F(cheaper_brood_test, ReleasesLevelsAsTheirWindowsExpire) {
  const auto t0 = pool.now();
  pool.shape(8, 0);
  check();
  pool.advance(3s);
  pool.shape(3, 5);  // wants 4 from now
  check();
  pool.advance(1s);
  pool.shape(0, 8);
  EXPECT_EQ(check().recheck_at, t0 + 8s);
  pool.advance(4s);
  cheaper_decision d = check();
  EXPECT_EQ(d.workers, -4);
  EXPECT_EQ(d.recheck_at, t0 + 11s) << "level 4, last needed at 3 s";
  pool.apply(d, cfg.cheaper);
  pool.advance(3s);
  d = check();
  EXPECT_EQ(d.workers, -2);
  EXPECT_EQ(d.recheck_at, std::nullopt);
}

TEST_F(cheaper_brood_test, RechecksSoonWhileEveryWorkerIsBusy) {
  const auto t0 = pool.now();
  pool.shape(2, 0);
  pool.can_spawn = false;
  EXPECT_EQ(check().recheck_at, t0 + 100ms);
  pool.can_spawn = true;
  pool.shape(4, 0);
  EXPECT_EQ(check().recheck_at, t0 + 100ms) << "earlier than level 4's expiry";
  pool.shape(8, 0);
  EXPECT_EQ(check().recheck_at, t0 + 8s) << "no slot left";
  pool.shape(1, 1);
  pool.advance(8s);
  check();
  EXPECT_EQ(check().recheck_at, std::nullopt) << "at cheaper with a free worker";
}

TEST_F(cheaper_brood_test, CheaperIdleSetsTheWindow) {
  cfg.idle = 3s;
  make(cheaper_algo::brood);
  pool.shape(8, 0);
  check();
  pool.shape(0, 8);
  EXPECT_EQ(checks(3), (std::vector<int>{0, 0, -6}));
}

TEST_F(cheaper_brood_test, NoSpawnWhenSpawningIsNotAllowed) {
  pool.shape(2, 0);
  pool.backlog = 6;
  pool.can_spawn = false;
  const cheaper_decision d = check();
  EXPECT_EQ(d.workers, 0);
  EXPECT_EQ(d.why, "2 busy + 6 queued: want 8, have 2: spawning not allowed");
}

TEST_F(cheaper_brood_test, IsEventDriven) {
  EXPECT_TRUE(algo->event_driven());
  EXPECT_EQ(algo->kind(), cheaper_algo::brood);
}

// The design target: 8 slots, cheaper 2, 8 closed-loop clients in bursts of 5 s on, 5 s off.
TEST_F(cheaper_brood_test, BurstsGrowAtOnceNeverFlapAndEndAtCheaper) {
  pool.shape(0, 2);
  const milliseconds load_end = 60s;
  const auto samples =
      run(75s, [&](milliseconds t) { return t < load_end && (t / 5s) % 2 == 0 ? 8u : 0u; });
  std::optional<milliseconds> first_extra, full, back;
  for (const sample& s : samples) {
    if (!first_extra && s.active > 2) first_extra = s.t;
    if (!full && s.active == slots) full = s.t;
    if (s.t < load_end) {
      if (full) {
        EXPECT_EQ(s.active, slots) << "at " << s.t.count() << " ms";
      }
    } else if (!back && s.active == cfg.cheaper) {
      back = s.t;
    }
  }
  ASSERT_TRUE(first_extra && full && back);
  EXPECT_LE(*first_extra, 500ms);
  EXPECT_LE(*full, 2s);
  EXPECT_LE(*back - load_end, 10s);
  EXPECT_EQ(samples.back().active, cfg.cheaper);
}

}  // namespace
}  // namespace brood::node::testing

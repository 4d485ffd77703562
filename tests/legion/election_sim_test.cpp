// Randomized simulation of the election (election_sim.hpp): 3 to 5 members, random delays, drops,
// duplicates, stragglers (reordering), cut and healed links, crashes, restarts and clocks drifting
// within `drift`. Every run checks, after every step, that no two members are lord at the same
// true time; after the faults stop, a lord must emerge within a bound and be the best member, and
// stay. Thousands of seeded runs; BROOD_LEGION_SIM_RUNS scales them, a failing seed is printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "election_sim.hpp"

namespace brood::legion {
namespace {

using testing::ms;
using testing::nanos;
using testing::sim;
using testing::sim_options;

struct profile {
  bool partitions = true;
  bool crashes = true;
  bool restarts = true;
  bool lossy = true;
  double drift = 0.05;
};

std::size_t runs(std::size_t dflt) {
  const char* env = std::getenv("BROOD_LEGION_SIM_RUNS");
  if (env == nullptr) return dflt;
  return static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) / 4 + 1;
}

sim_options random_options(std::mt19937_64& rng, const profile& p, std::uint64_t seed) {
  auto uni = [&rng](double a, double b) { return std::uniform_real_distribution<>(a, b)(rng); };
  auto pick = [&rng](std::int64_t a, std::int64_t b) {
    return std::uniform_int_distribution<std::int64_t>(a, b)(rng);
  };
  sim_options o;
  o.seed = seed;
  o.members = static_cast<std::size_t>(pick(3, 5));
  for (std::size_t i = 0; i < o.members; ++i) o.valors.push_back(pick(0, 3));
  o.valors[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(o.members) - 1))] = 2;
  const std::size_t majority = o.members / 2 + 1;
  o.quorum = pick(0, 3) == 0 ? static_cast<std::size_t>(pick(majority, o.members)) : majority;
  o.drift = p.drift;
  // Clock rates within the tolerated drift: any two differ by at most 1 / (1 - drift).
  for (std::size_t i = 0; i < o.members; ++i) o.rates.push_back(uni(1.0, 1.0 / (1.0 - p.drift)));
  o.delay_min = nanos(pick(10'000, 1'000'000));
  o.delay_max = o.delay_min + nanos(pick(0, 25'000'000));
  if (p.lossy) {
    o.drop = uni(0, 0.1);
    o.duplicate = uni(0, 0.05);
    o.straggle = uni(0, 0.05);
  }
  return o;
}

void one_fault(sim& s, std::mt19937_64& rng, const profile& p) {
  const std::size_t n = s.options().members;
  auto any = [&] { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  const int what = std::uniform_int_distribution<int>(0, 9)(rng);
  const std::size_t a = any(), b = any();
  if (p.partitions && what <= 2 && a != b) {
    s.cut(a, b, what == 2);
  } else if (p.partitions && what == 3) {
    s.heal(a, b);
  } else if (p.partitions && what == 4) {
    const auto lord = s.lord();
    s.isolate(lord ? *lord : a);
  } else if (p.partitions && what == 5) {
    s.heal_all();
  } else if (p.crashes && what == 6 && s.up(a)) {
    s.crash(a, (rng() & 1) != 0);
  } else if (p.crashes && what == 7 && s.up(a)) {
    s.shutdown(a);
  } else if (p.restarts && what >= 8 && !s.up(a)) {
    s.restart(a);
  }
}

// The member that should lead once all is quiet: highest valor > 0, greater uuid on a tie.
std::optional<std::size_t> best_member(sim& s) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < s.options().members; ++i) {
    const std::int64_t v = s.options().valors[i];
    if (v <= 0) continue;
    if (!best || v > s.options().valors[*best] ||
        (v == s.options().valors[*best] && s.uuid(i) > s.uuid(*best))) {
      best = i;
    }
  }
  return best;
}

std::string run_one(std::uint64_t seed, const profile& p) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 1);
  sim s(random_options(rng, p, seed));
  // Chaos: a fault every 20..300 ms for 3 s.
  while (s.now() < ms(3000)) {
    s.run_for(nanos(std::uniform_int_distribution<std::int64_t>(20'000'000, 300'000'000)(rng)));
    if (!s.violation().empty()) return s.violation();
    one_fault(s, rng, p);
  }
  // Quiet: everyone up and connected, no loss. A lord within 2 s, the best one, and it stays.
  s.heal_all();
  s.options().drop = s.options().duplicate = s.options().straggle = 0;
  for (std::size_t i = 0; i < s.options().members; ++i) {
    if (!s.up(i)) s.restart(i);
  }
  const nanos quiet = s.now();
  s.run_for(ms(2000));
  if (!s.violation().empty()) return s.violation();
  const auto best = best_member(s);
  if (s.lord() != best) {
    return "no lord (or not the best) 2 s after the faults stopped: lord " +
           (s.lord() ? std::to_string(*s.lord()) : std::string("none")) + ", best " +
           (best ? std::to_string(*best) : std::string("none"));
  }
  const std::size_t changes = s.lord_events().size();
  s.run_for(ms(2000));
  if (!s.violation().empty()) return s.violation();
  if (s.lord() != best || s.lord_events().size() != changes) return "the lord changed while quiet";
  // Epochs grow from one lord to the next while some member remembers the last one (restarted
  // members forget: without restarts during the faults, over the whole run).
  std::uint64_t last = 0;
  for (const auto& e : s.lord_events()) {
    if (p.restarts && e.at < quiet) continue;
    if (e.ev.epoch <= last)
      return "lord epoch " + std::to_string(e.ev.epoch) + " after " + std::to_string(last);
    last = e.ev.epoch;
  }
  return {};
}

void run_many(std::uint64_t first, std::size_t count, const profile& p) {
  std::size_t failures = 0;
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    const std::string why = run_one(seed, p);
    if (!why.empty() && ++failures <= 5) ADD_FAILURE() << "seed " << seed << ": " << why;
  }
  EXPECT_EQ(failures, 0u) << "of " << count << " runs";
}

TEST(legion_election_sim_test, EverythingAtOnce) { run_many(1, runs(600), profile{}); }

TEST(legion_election_sim_test, PartitionsAndLossOnly) {
  profile p;
  p.crashes = p.restarts = false;
  run_many(100'001, runs(500), p);
}

TEST(legion_election_sim_test, CrashesAndRestartsOnly) {
  profile p;
  p.partitions = false;
  run_many(200'001, runs(500), p);
}

TEST(legion_election_sim_test, LargerDriftTolerance) {
  profile p;
  p.drift = 0.2;
  run_many(300'001, runs(500), p);
}

}  // namespace
}  // namespace brood::legion

// The cheaper options' names and the pool snapshot's counts.
#include "brood/node/cheaper_config.hpp"

#include "cheaper_algorithm.hpp"

namespace brood::node {

const char* to_string(cheaper_algo a) noexcept {
  switch (a) {
    case cheaper_algo::brood:
      return "brood";
    case cheaper_algo::spare:
      return "spare";
    case cheaper_algo::spare2:
      return "spare2";
    case cheaper_algo::backlog:
      return "backlog";
    case cheaper_algo::busyness:
      return "busyness";
    case cheaper_algo::manual:
      return "manual";
  }
  return "?";
}

unsigned pool_snapshot::count(pool_slot s) const noexcept {
  unsigned n = 0;
  for (const pool_worker& w : workers) n += w.state == s ? 1 : 0;
  return n;
}

unsigned pool_snapshot::active() const noexcept {
  return count(pool_slot::starting) + count(pool_slot::idle) + count(pool_slot::busy);
}

std::uint64_t pool_snapshot::busy_us(const pool_worker& w) const noexcept {
  std::uint64_t t = w.running_us;
  if (w.state == pool_slot::busy && w.request_start_us > 0 && now_us > w.request_start_us)
    t += static_cast<std::uint64_t>(now_us - w.request_start_us);
  return t;
}

}  // namespace brood::node

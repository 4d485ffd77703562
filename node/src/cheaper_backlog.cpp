// cheaper-algo backlog (docs/uwsgi-compat.md §7.4), one decision per check, with the listen queue
// (snapshot.backlog, the longest over the node's sockets):
//
// - spawning allowed and backlog > cheaper-overload: spawn min(cheaper-step, cheaped slots)
//   (uWSGI's rule);
// - spawning allowed, backlog > 0 and no free worker: spawn min(cheaper-step, backlog, cheaped
//   slots) (brood's fix, below);
// - backlog 0, an idle worker and more than `cheaper` active: cheap one;
// - otherwise nothing.
//
// Difference from uWSGI: uWSGI cheaps one whenever backlog < cheaper-overload and more than
// `cheaper` are active, even when every worker is busy and connections wait. With 8 closed-loop
// clients on 8 slots it stalls at 6 workers: the 2 waiting connections are a backlog below the
// overload, so it cheaps instead of spawning. Here a queue that no worker can take spawns, and
// only an empty queue with a worker to spare cheaps.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "cheaper_algorithms.hpp"

namespace brood::node {
namespace {

class backlog_algorithm final : public cheaper_algorithm {
 public:
  explicit backlog_algorithm(const cheaper_config& cfg)
      : cheaper_(cfg.cheaper), step_(cheaper_step(cfg)), overload_(cheaper_overload(cfg)) {}

  cheaper_algo kind() const noexcept override { return cheaper_algo::backlog; }

  cheaper_decision decide(const pool_snapshot& s) override {
    const std::uint64_t backlog = s.backlog;
    const std::string queued = "backlog " + std::to_string(backlog);
    if (s.can_spawn && backlog > 0) {
      unsigned n = 0;
      if (backlog > overload_)
        n = std::min(step_, cheaped_slots(s));
      else if (free_workers(s) == 0)
        n = static_cast<unsigned>(std::min<std::uint64_t>({step_, backlog, cheaped_slots(s)}));
      if (n > 0) return {static_cast<int>(n), queued + ": spawn " + std::to_string(n)};
    }
    if (backlog == 0 && s.count(pool_slot::idle) > 0 && s.active() > cheaper_)
      return {-1, queued + ", " + std::to_string(s.count(pool_slot::idle)) + " idle: cheap 1"};
    return {};
  }

 private:
  unsigned cheaper_;
  unsigned step_;
  unsigned overload_;
};

}  // namespace

std::unique_ptr<cheaper_algorithm> make_backlog_algorithm(const cheaper_config& cfg) {
  return std::make_unique<backlog_algorithm>(cfg);
}

}  // namespace brood::node

// cheaper-algo manual: the algorithm never decides anything; the master FIFO's `+` and `-`
// (applied by master_core, docs/uwsgi-compat.md §7.2) are the only changes to the pool.
#include <memory>

#include "cheaper_algorithms.hpp"

namespace brood::node {
namespace {

class manual_algorithm final : public cheaper_algorithm {
 public:
  cheaper_algo kind() const noexcept override { return cheaper_algo::manual; }
  cheaper_decision decide(const pool_snapshot&) override { return {}; }
};

}  // namespace

std::unique_ptr<cheaper_algorithm> make_manual_algorithm() {
  return std::make_unique<manual_algorithm>();
}

}  // namespace brood::node

// TEMPORARY stub (replaced by the i11-algos branch).
#include "cheaper_algorithm.hpp"

namespace brood::node {
namespace {
class stub final : public cheaper_algorithm {
 public:
  cheaper_algo kind() const noexcept override { return cheaper_algo::manual; }
  cheaper_decision decide(const pool_snapshot&) override { return {}; }
};
}  // namespace
std::unique_ptr<cheaper_algorithm> make_cheaper_algorithm(const cheaper_config&, unsigned) {
  return std::make_unique<stub>();
}
}  // namespace brood::node

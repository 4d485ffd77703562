// make_cheaper_algorithm: cfg.algo's algorithm (cheaper_algorithm.hpp).
#include <memory>

#include "cheaper_algorithms.hpp"

namespace brood::node {

std::unique_ptr<cheaper_algorithm> make_cheaper_algorithm(const cheaper_config& cfg,
                                                          unsigned processes) {
  switch (cfg.algo) {
    case cheaper_algo::spare:
      return make_spare_algorithm(cfg);
    case cheaper_algo::spare2:
      return make_spare2_algorithm(cfg);
    case cheaper_algo::backlog:
      return make_backlog_algorithm(cfg);
    case cheaper_algo::busyness:
      return make_busyness_algorithm(cfg, processes);
    case cheaper_algo::manual:
      return make_manual_algorithm();
    case cheaper_algo::brood:
      break;
  }
  return make_brood_algorithm(cfg, processes);
}

}  // namespace brood::node

#include "brood/emperor/vassal.hpp"

#include <chrono>

#include "brood/emperor/core.hpp"

namespace brood::emperor {

const char* to_string(vassal_state s) noexcept {
  switch (s) {
    case vassal_state::running:
      return "running";
    case vassal_state::stopping:
      return "stopping";
    case vassal_state::respawn:
      return "respawn";
    case vassal_state::exiled:
      return "exiled";
    case vassal_state::on_demand:
      return "on-demand";
    case vassal_state::returning:
      return "returning";
    case vassal_state::waiting:
      return "waiting";
  }
  return "unknown";
}

moment moment::now() noexcept {
  return {std::chrono::steady_clock::now(),
          std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())};
}

}  // namespace brood::emperor

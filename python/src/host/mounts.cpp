#include "mounts.hpp"

namespace brood::python {

std::optional<std::size_t> exact_mount(const std::vector<std::string>& mountpoints,
                                       std::string_view script_name) {
  for (std::size_t i = 0; i < mountpoints.size(); ++i)
    if (mountpoints[i] == script_name) return i;
  return std::nullopt;
}

std::optional<std::size_t> longest_mount(const std::vector<std::string>& mountpoints,
                                         std::string_view path) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < mountpoints.size(); ++i) {
    const std::string& m = mountpoints[i];
    if (m.empty() || path.substr(0, m.size()) != m) continue;
    if (path.size() > m.size() && path[m.size()] != '/') continue;
    if (!best || m.size() > mountpoints[*best].size()) best = i;
  }
  return best;
}

}  // namespace brood::python

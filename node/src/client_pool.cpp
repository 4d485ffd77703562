#include "client_pool.hpp"

namespace brood::node::client_detail {

unique_fd idle_pool::take(std::string_view address) {
  auto it = idle_.find(address);
  if (it == idle_.end()) return {};
  std::vector<unique_fd>& idle = it->second;
  while (!idle.empty()) {
    unique_fd fd = std::move(idle.back());
    idle.pop_back();
    if (idle_connection_alive(fd.get())) return fd;
  }
  return {};
}

void idle_pool::put(std::string_view address, unique_fd fd) {
  auto it = idle_.find(address);
  if (it == idle_.end()) {
    if (idle_.size() >= max_addresses) idle_.clear();
    it = idle_.emplace(std::string(address), std::vector<unique_fd>{}).first;
    it->second.reserve(per_address);
  }
  if (it->second.size() < per_address) it->second.push_back(std::move(fd));
}

idle_pool& thread_pool() {
  thread_local idle_pool pool;
  return pool;
}

}  // namespace brood::node::client_detail

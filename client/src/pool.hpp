#pragma once
// Idle kept-alive connections of the sync client, per address string.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "brood/os/unique_fd.hpp"
#include "endpoint.hpp"

namespace brood::client::detail {

// Not thread-safe: each thread uses its own (thread_pool()).
class idle_pool {
 public:
  static constexpr std::size_t per_address = 4;
  static constexpr std::size_t max_addresses = 1024;

  // An idle connection to `address` that passed idle_connection_alive(), or an empty fd.
  // Connections that failed the check are closed.
  os::unique_fd take(std::string_view address);
  // Keeps `fd` (a connection that just completed a whole reply) for the next call, unless the
  // address already has per_address idle connections (then it is closed).
  void put(std::string_view address, os::unique_fd fd);
  // Drops every idle connection when `generation` (bumped in each forked child) changed since
  // the pool was filled: connections inherited through fork() belong to the parent.
  void forget_after_fork(unsigned generation);

 private:
  unsigned generation_ = 0;
  std::unordered_map<std::string, std::vector<os::unique_fd>, string_hash, std::equal_to<>> idle_;
};

// The calling thread's pool, closed when the thread exits; emptied in a forked child.
idle_pool& thread_pool();

}  // namespace brood::client::detail

#pragma once
// PROVISIONAL (replaced by the i11-os branch): a listening TCP socket's accept queue.
#include <cstdint>
#include <optional>

namespace brood::os {

struct listen_queue_info {
  std::uint64_t queue = 0;
  std::uint64_t max = 0;
};

std::optional<listen_queue_info> listen_queue(int fd) noexcept;

}  // namespace brood::os

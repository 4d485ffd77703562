#include "brood/os/listen_queue.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace brood::os {

std::optional<listen_queue_info> listen_queue(int fd) noexcept {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || info.tcpi_sacked == 0)
    return std::nullopt;
  return listen_queue_info{info.tcpi_unacked, info.tcpi_sacked};
}

}  // namespace brood::os

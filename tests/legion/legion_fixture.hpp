#pragma once
// Helpers of the legion runtime tests: free loopback ports and the config of an N-member legion
// on them (every member lists every other; the default quorum: a majority).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "brood/legion/config.hpp"

namespace brood::legion::testing {

// A TCP port free on 127.0.0.1 right now (bound to 0, read back, closed).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The config of member `index` of a legion named `name` on `ports`, with `valor`.
inline config member_config(const std::string& name, const std::vector<std::uint16_t>& ports,
                            std::size_t index, std::int64_t valor,
                            const std::string& secret = "aes-128-cbc:s3cr3t") {
  config c;
  legion_config l;
  l.name = name;
  l.address = endpoint{"127.0.0.1", ports[index]};
  l.valor = valor;
  l.secret = secret;
  for (std::uint16_t p : ports) l.nodes.push_back(endpoint{"127.0.0.1", p});
  c.legions.push_back(l);
  return c;
}

}  // namespace brood::legion::testing

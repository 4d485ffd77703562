#pragma once
// The byte layout shared by log_server.cpp and log_client.cpp (the protocol is described in
// log_server.hpp): the request ops, the little-endian integers, the abstract socket's address.
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "brood/wire/bytes.hpp"

namespace brood::spooler::log_protocol {

constexpr std::uint8_t op_task = 1;             // the client writes the task's spool file
constexpr std::uint8_t op_task_file_later = 2;  // the server writes it once it has answered
// As op 2, and the request carries (SCM_RIGHTS) the connection of the task's own client: the
// server sends that client its 4-byte answer and closes it; the worker gets no answer.
constexpr std::uint8_t op_task_answer_client = 3;
constexpr std::uint32_t max_request = (1u << 30) + 65536;  // spooler-log-size's maximum, a bit more

inline void put_le(wire::bytes& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<wire::byte>(v >> (8 * i)));
}
inline std::uint64_t get_le(const wire::byte* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

inline sockaddr_un address_of(const std::string& name, socklen_t& len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  a.sun_path[0] = '\0';
  std::memcpy(a.sun_path + 1, name.data(), std::min(name.size(), sizeof a.sun_path - 1));
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

}  // namespace brood::spooler::log_protocol

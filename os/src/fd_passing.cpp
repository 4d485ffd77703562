// send_with_fds / receive_with_fds: sendmsg and recvmsg with one SCM_RIGHTS control message.
#include "brood/os/fd_passing.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace brood::os {
namespace {

// Control-data buffer for `n` fds, aligned for cmsghdr.
std::vector<cmsghdr> control_buffer(std::size_t n) {
  const std::size_t bytes = CMSG_SPACE(n * sizeof(int));
  return std::vector<cmsghdr>((bytes + sizeof(cmsghdr) - 1) / sizeof(cmsghdr) + 1);
}

// Every fd of every SCM_RIGHTS message in `msg`, owned.
std::vector<unique_fd> take_fds(msghdr& msg) {
  std::vector<unique_fd> out;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < n; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      out.emplace_back(fd);
    }
  }
  return out;
}

}  // namespace

status send_with_fds(int socket, std::string_view data, std::span<const int> fds) {
  const std::string what = "cannot send " + std::to_string(fds.size()) + " fds";
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<cmsghdr> control;
  if (!fds.empty()) {
    control = control_buffer(fds.size());
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  ssize_t n = -1;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return status::last_errno(what);
  if (static_cast<std::size_t>(n) != data.size())
    return status::from_errno(EMSGSIZE, what + ": only " + std::to_string(n) + " of " +
                                            std::to_string(data.size()) + " data bytes sent");
  return {};
}

result<received_fds> receive_with_fds(int socket, std::span<char> buffer, std::size_t max_fds) {
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<cmsghdr> control = control_buffer(max_fds);
  msg.msg_control = control.data();
  msg.msg_controllen = CMSG_SPACE(max_fds * sizeof(int));
  ssize_t n = -1;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return status::last_errno("cannot receive fds");
  received_fds out;
  out.size = static_cast<std::size_t>(n);
  out.fds = take_fds(msg);
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    out.fds.clear();  // closes them: the caller asks again with more room
    out.fds_truncated = true;
  }
  return out;
}

}  // namespace brood::os

// listen_queue: TCP_INFO for TCP listeners, a NETLINK_SOCK_DIAG UNIX_DIAG request for unix ones.
#include "brood/os/listen_queue.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace brood::os {
namespace {

constexpr int listen_state = TCP_LISTEN;  // also the unix_diag state of a unix listener

// The address family of the socket `fd`, or AF_UNSPEC when it is not a socket (or closed).
int family_of(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return AF_UNSPEC;
  return ss.ss_family;
}

std::optional<listen_queue_info> tcp_queue(int fd) noexcept {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  if (info.tcpi_state != listen_state) return std::nullopt;
  return listen_queue_info{info.tcpi_unacked, info.tcpi_sacked};
}

// The UNIX_DIAG_RQLEN attribute of one reply message about inode `ino`, if it is a listener.
std::optional<listen_queue_info> parse_unix_reply(const nlmsghdr* h, std::uint32_t ino) noexcept {
  if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg)))
    return std::nullopt;
  unix_diag_msg msg;
  std::memcpy(&msg, NLMSG_DATA(h), sizeof msg);
  if (msg.udiag_ino != ino || msg.udiag_state != listen_state) return std::nullopt;
  auto* attr = reinterpret_cast<const rtattr*>(static_cast<const char*>(NLMSG_DATA(h)) +
                                               NLMSG_ALIGN(sizeof(unix_diag_msg)));
  int left = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(unix_diag_msg))));
  for (; RTA_OK(attr, left); attr = RTA_NEXT(attr, left)) {
    if (attr->rta_type != UNIX_DIAG_RQLEN || RTA_PAYLOAD(attr) < sizeof(unix_diag_rqlen)) continue;
    unix_diag_rqlen rq;
    std::memcpy(&rq, RTA_DATA(attr), sizeof rq);
    return listen_queue_info{rq.udiag_rqueue, rq.udiag_wqueue};
  }
  return std::nullopt;
}

// Asks the kernel, over the sock_diag socket `nl`, for the receive-queue figures of the unix
// socket `fd`. The kernel answers during sendto(), so the reply is read without waiting.
std::optional<listen_queue_info> unix_queue(int nl, std::uint32_t seq, int fd) noexcept {
  struct stat st {};
  if (nl < 0 || ::fstat(fd, &st) != 0) return std::nullopt;
  struct {
    nlmsghdr header;
    unix_diag_req body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = seq;
  request.body.sdiag_family = AF_UNIX;
  request.body.udiag_states = 1u << listen_state;
  request.body.udiag_ino = static_cast<std::uint32_t>(st.st_ino);
  request.body.udiag_show = UDIAG_SHOW_RQLEN;
  request.body.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
  request.body.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) != static_cast<ssize_t>(sizeof request))
    return std::nullopt;
  alignas(nlmsghdr) char buf[8192];
  for (;;) {  // skips replies to earlier requests, if any were left unread
    const ssize_t n = ::recv(nl, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      return parse_unix_reply(h, request.body.udiag_ino);  // an NLMSG_ERROR gives nullopt
    }
  }
}

unique_fd open_sock_diag() noexcept {
  return unique_fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
}

}  // namespace

std::optional<listen_queue_info> listen_queue(int fd) noexcept {
  const int family = family_of(fd);
  if (family == AF_INET || family == AF_INET6) return tcp_queue(fd);
  if (family != AF_UNIX) return std::nullopt;
  unique_fd nl = open_sock_diag();
  return unix_queue(nl.get(), 1, fd);
}

result<listen_queue_probe> listen_queue_probe::open() {
  unique_fd nl = open_sock_diag();
  if (!nl) return status::last_errno("cannot open sock_diag netlink socket");
  return listen_queue_probe(std::move(nl));
}

std::optional<listen_queue_info> listen_queue_probe::query(int fd) noexcept {
  const int family = family_of(fd);
  if (family == AF_INET || family == AF_INET6) return tcp_queue(fd);
  if (family != AF_UNIX) return std::nullopt;
  return unix_queue(netlink_.get(), ++sequence_, fd);
}

}  // namespace brood::os

// The warm spare's link (fork_server_spare.hpp): announce, hand over, receive.
#include "fork_server_spare.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "brood/os/fd_passing.hpp"
#include "brood/os/log.hpp"

namespace brood::node {
namespace {

[[noreturn]] void refuse(const std::string& why) {
  os::log("fork server spare (pid ", ::getpid(), "): ", why, "; exiting");
  ::_exit(1);
}

}  // namespace

os::result<std::pair<os::unique_fd, os::unique_fd>> spare_link() {
  int sv[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return os::status::last_errno("socketpair for the spare");
  return std::pair{os::unique_fd(sv[0]), os::unique_fd(sv[1])};
}

bool announce_spare(int link) {
  const pid_t me = ::getpid();
  return ::send(link, &me, sizeof me, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof me);
}

pid_t read_spare_announce(int link) {
  pid_t pid = 0;
  const ssize_t n = ::recv(link, &pid, sizeof pid, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
  if (n != static_cast<ssize_t>(sizeof pid) || pid <= 0) return 0;
  return pid;
}

os::status hand_to_spare(int link, const received_fork_request& in, int conn) {
  wire::bytes packet;
  if (const std::error_code ec = wire::encode_fork_request(in.request, packet))
    return os::status(ec, "cannot encode the request for the spare");
  std::vector<int> fds{conn};
  for (const os::unique_fd& fd : in.fds) fds.push_back(fd.get());
  return os::send_with_fds(link, wire::as_chars(packet), fds);
}

bool announce_worker_to_be(int link) {
  const char ready = 'R';
  return ::send(link, &ready, 1, MSG_NOSIGNAL) == 1;
}

bool await_worker_to_be(int link, std::chrono::milliseconds timeout) {
  pollfd p{link, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n == 0 || (n < 0 && errno == EINTR)) continue;  // the deadline decides
    if (n < 0) return false;
    char ready = 0;
    const ssize_t got = ::recv(link, &ready, 1, 0);
    if (got < 0 && errno == EINTR) continue;
    return got == 1 && ready == 'R';
  }
}

received_fork_request await_spare_request(int link, os::unique_fd& conn) {
  std::vector<char> buffer(wire::header_size + wire::limits::max_buffer_size + 1);
  auto got = os::receive_with_fds(link, buffer, wire::max_fork_fds + 1);
  if (!got || got->size == 0) ::_exit(0);  // the base stopped
  if (got->fds_truncated) refuse("too many fds came with the request");
  if (got->fds.empty()) refuse("no emperor connection came with the request");
  if (got->size < wire::header_size) refuse("a request shorter than its header");
  const auto* bytes = reinterpret_cast<const wire::byte*>(buffer.data());
  const wire::header h = wire::decode_header(wire::bytes_view(bytes, wire::header_size));
  if (wire::decode_result r = wire::check_fork_header(h); r.is_bad())
    refuse("bad request header: " + r.why);
  if (h.size != got->size - wire::header_size) refuse("a request whose size is not its header's");
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  lim.max_vars = wire::limits::max_buffer_size;
  received_fork_request out;
  const wire::decode_result r =
      wire::decode_fork_request(h, wire::bytes_view(bytes + wire::header_size, h.size),
                                static_cast<int>(got->fds.size()) - 1, lim, out.request);
  if (!r.is_done()) refuse("bad request: " + r.why);
  conn = std::move(got->fds.front());
  out.fds.assign(std::make_move_iterator(got->fds.begin() + 1),
                 std::make_move_iterator(got->fds.end()));
  return out;
}

}  // namespace brood::node

// The warm spare's link (fork_server_spare.hpp): announce, hand over, receive.
#include "fork_server_spare.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brood/os/fd_passing.hpp"
#include "brood/os/log.hpp"

namespace brood::node {
namespace {

constexpr std::string_view taken_prefix = "taken:";
// After an accept that failed for lack of resources, the spare accepts again this much later.
constexpr int spare_accept_pause_ms = 100;

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

bool report_taken(int link, const std::string& summary) {
  const std::string message = std::string(taken_prefix) + summary;
  return ::send(link, message.data(), message.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(message.size());
}

spare_message read_spare_message(int link) {
  char buffer[512];
  const ssize_t n = ::recv(link, buffer, sizeof buffer, MSG_DONTWAIT);
  spare_message m;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return m;
  const std::string_view got(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  if (got.size() == sizeof(pid_t)) {
    std::memcpy(&m.pid, buffer, sizeof(pid_t));
    if (m.pid > 0) m.what = spare_message::kind::ready;
  } else if (got.starts_with(taken_prefix)) {
    m.what = spare_message::kind::taken;
    m.summary = got.substr(taken_prefix.size());
  }
  if (m.what == spare_message::kind::none) m.what = spare_message::kind::gone;
  return m;
}

received_fork_request await_direct_request(int listener, int link,
                                           std::chrono::milliseconds io_timeout,
                                           os::unique_fd& conn) {
  for (;;) {
    pollfd p[2] = {{link, POLLIN, 0}, {listener, POLLIN, 0}};
    const int n = ::poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || p[0].revents != 0) ::_exit(0);  // the base stopped (or poll failed)
    if (p[1].revents == 0) continue;
    os::unique_fd c(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!c) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
        continue;
      os::log("fork server spare: accept failed: ", std::strerror(errno), "; retrying in ",
              spare_accept_pause_ms, " ms");
      pollfd base{link, POLLIN, 0};
      if (::poll(&base, 1, spare_accept_pause_ms) > 0) ::_exit(0);
      continue;
    }
    if (std::optional<received_fork_request> in = read_or_refuse(c.get(), io_timeout)) {
      conn = std::move(c);
      return std::move(*in);
    }
  }
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

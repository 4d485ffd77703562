// read_fork_request: recvmsg with credentials and fds, bounded by a deadline, then the wire
// checks of fork_protocol.hpp.
#include "fork_server_request.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "brood/os/log.hpp"

namespace brood::node {
namespace {

using clock = std::chrono::steady_clock;

os::status refusal(int err, std::string why) {
  return os::status(std::error_code(err, std::system_category()), std::move(why));
}

// Control room for the credentials and one more fd than a request may carry: a request with
// exactly max_fork_fds + 1 fds is then seen as too many, not as a truncation.
constexpr std::size_t control_size =
    CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE((wire::max_fork_fds + 1) * sizeof(int));

// One request being read: the fds and the credentials gathered over the recvmsg calls.
class request_reader {
 public:
  request_reader(int conn, uid_t uid, clock::time_point deadline)
      : conn_(conn), uid_(uid), deadline_(deadline) {}

  // Reads exactly buf.size() bytes; `what` names them in errors ("the header").
  os::status read_exact(std::span<char> buf, const char* what) {
    std::size_t got = 0;
    while (got < buf.size()) {
      std::size_t n = 0;
      if (os::status st = read_some(buf.subspan(got), n); !st.ok()) {
        if (st.code() != std::error_code(ETIMEDOUT, std::system_category())) return st;
        return refusal(ETIMEDOUT, "timed out reading " + progress(what, got, buf.size()));
      }
      if (n == 0)
        return refusal(ECONNRESET, "connection closed by the peer while reading " +
                                       progress(what, got, buf.size()));
      got += n;
    }
    return {};
  }

  std::vector<os::unique_fd>& fds() noexcept { return fds_; }
  pid_t peer_pid() const noexcept { return peer_pid_; }

 private:
  static std::string progress(const char* what, std::size_t got, std::size_t want) {
    return std::string(what) + " (" + std::to_string(got) + " of " + std::to_string(want) +
           " bytes)";
  }

  // Waits until `conn_` is readable or the deadline passes.
  os::status wait_readable() {
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline_ - clock::now()).count();
      if (left <= 0) return refusal(ETIMEDOUT, "timed out");
      pollfd p{conn_, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left));
      if (n > 0) return {};
      if (n < 0 && errno != EINTR) return os::status::last_errno("poll");
    }
  }

  // One recvmsg (after waiting for data); n = 0 at EOF.
  os::status read_some(std::span<char> buf, std::size_t& n) {
    alignas(cmsghdr) char control[control_size];
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t got = -1;
    for (;;) {
      got = ::recvmsg(conn_, &msg, MSG_CMSG_CLOEXEC);
      if (got >= 0) break;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return os::status::last_errno("recvmsg");
      if (os::status st = wait_readable(); !st.ok()) return st;
    }
    n = static_cast<std::size_t>(got);
    return take_control(msg, n > 0);
  }

  // The fds and credentials of one message; checks them.
  os::status take_control(msghdr& msg, bool data) {
    std::optional<ucred> creds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_RIGHTS) {
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int fd = -1;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          fds_.emplace_back(fd);
        }
      } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
        creds.emplace();
        std::memcpy(&*creds, CMSG_DATA(c), sizeof(ucred));
      }
    }
    if (data && !checked_) {
      if (os::status st = check_credentials(creds); !st.ok()) return st;
    }
    if ((msg.msg_flags & MSG_CTRUNC) != 0 ||
        fds_.size() > static_cast<std::size_t>(wire::max_fork_fds))
      return refusal(EMSGSIZE, "more than " + std::to_string(wire::max_fork_fds) + " fds");
    return {};
  }

  os::status check_credentials(const std::optional<ucred>& creds) {
    if (!creds) return refusal(EACCES, "no credentials came with the request (SCM_CREDENTIALS)");
    peer_pid_ = creds->pid;
    if (creds->uid != uid_ && creds->uid != 0)
      return refusal(EACCES, "peer uid " + std::to_string(creds->uid) + " (pid " +
                                 std::to_string(creds->pid) + "): only uid " +
                                 std::to_string(uid_) + " and root may ask for a fork");
    checked_ = true;
    return {};
  }

  int conn_;
  uid_t uid_;
  clock::time_point deadline_;
  std::vector<os::unique_fd> fds_;
  bool checked_ = false;
  pid_t peer_pid_ = 0;
};

}  // namespace

os::result<received_fork_request> read_fork_request(int conn, uid_t uid,
                                                    clock::time_point deadline) {
  request_reader reader(conn, uid, deadline);
  char head[wire::header_size];
  if (os::status st = reader.read_exact(head, "the header"); !st.ok()) return st;
  const wire::header h = wire::decode_header(
      wire::bytes_view(reinterpret_cast<const wire::byte*>(head), wire::header_size));
  if (wire::decode_result r = wire::check_fork_header(h); r.is_bad())
    return refusal(EPROTO, "bad header: " + r.why);
  std::vector<char> body(h.size);
  if (os::status st = reader.read_exact(body, "the body"); !st.ok()) return st;
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  lim.max_vars = wire::limits::max_buffer_size;  // the body's size bounds the argv, not a count
  received_fork_request out;
  const wire::decode_result r = wire::decode_fork_request(
      h, wire::bytes_view(reinterpret_cast<const wire::byte*>(body.data()), body.size()),
      static_cast<int>(reader.fds().size()), lim, out.request);
  if (!r.is_done()) return refusal(EPROTO, "bad request: " + r.why);
  out.fds = std::move(reader.fds());
  out.peer_pid = reader.peer_pid();
  return out;
}

std::optional<received_fork_request> read_or_refuse(int conn,
                                                    std::chrono::milliseconds io_timeout) {
  const int on = 1;
  ::setsockopt(conn, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  ucred peer{};
  socklen_t len = sizeof peer;
  ::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len);
  auto in = read_fork_request(conn, ::geteuid(), clock::now() + io_timeout);
  if (in) return std::move(*in);
  os::log("fork server: refused a request (peer pid ", peer.pid, "): ", in.error().message());
  return std::nullopt;
}

}  // namespace brood::node

// attach_zerg: connect, receive "uwsgi-zerg" + count + SCM_RIGHTS, adopt each socket.
#include "zerg_attach.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "brood/os/fd_passing.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/zerg_protocol.hpp"

namespace brood::node {
namespace {

constexpr std::size_t first_room = 8;  // fds asked for on the first try (uWSGI's)
constexpr auto kind = wire::fd_message_kind::zerg;

// What one connection brought: the announced count and the fds (none when they did not fit).
struct offer {
  int count = 0;
  bool truncated = false;
  std::vector<os::unique_fd> fds;
};

os::result<os::unique_fd> connect_to(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path))
    return os::status::from_errno(ENAMETOOLONG, "the path is too long");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  os::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return os::status::last_errno("socket");
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // bounds connect
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0)
    return os::status::last_errno("connect");
  return fd;
}

// One connection: the framing and the fds, with room for `room` fds.
os::result<offer> take_offer(const std::string& path, std::size_t room,
                             std::chrono::milliseconds timeout) {
  auto fd = connect_to(path, timeout);
  if (!fd) return fd.error();
  std::array<char, wire::max_fd_message_size> data{};
  std::size_t have = 0;
  offer out;
  for (;;) {
    const std::size_t want = wire::fd_message_size(kind) - have;
    auto got = os::receive_with_fds(fd->get(), std::span<char>(data.data() + have, want), room);
    if (!got) return got.error();
    out.truncated = out.truncated || got->fds_truncated;
    for (auto& f : got->fds) out.fds.push_back(std::move(f));
    if (got->size == 0)
      return os::status::from_errno(ECONNREFUSED, "the server closed the connection after " +
                                                      std::to_string(have) + " bytes");
    have += got->size;
    const wire::bytes_view view(reinterpret_cast<const wire::byte*>(data.data()), have);
    const wire::decode_result r = wire::decode_fd_message(view, kind, out.count);
    if (r.is_bad()) return os::status::from_errno(EPROTO, r.why);
    if (r.is_done()) return out;
  }
}

}  // namespace

os::result<std::vector<os::bound_socket>> attach_zerg(const std::string& path,
                                                      std::chrono::milliseconds timeout) {
  const std::string what = "cannot attach to the zerg server " + path;
  auto got = take_offer(path, first_room, timeout);
  if (got && (got->truncated || static_cast<std::size_t>(got->count) > first_room))
    got = take_offer(path, static_cast<std::size_t>(got->count), timeout);  // ask with more room
  if (!got) return got.error().context(what);
  if (got->truncated || got->fds.size() != static_cast<std::size_t>(got->count))
    return os::status::from_errno(EPROTO, what + ": " + std::to_string(got->count) +
                                              " sockets announced, " +
                                              std::to_string(got->fds.size()) + " received");
  std::vector<os::bound_socket> out;
  for (os::unique_fd& fd : got->fds) {
    auto s = os::adopt_socket(std::move(fd));
    if (!s) return s.error().context(what);
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace brood::node

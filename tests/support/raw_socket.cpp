#include "raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/msgpack_codec.hpp"

namespace brood::testing {
namespace {

using steady = std::chrono::steady_clock;

sockaddr_in to_sockaddr(const std::string& address) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  std::string host = address.substr(0, colon);
  ::inet_pton(AF_INET, host.empty() ? "127.0.0.1" : host.c_str(), &sa.sin_addr);
  return sa;
}

}  // namespace

raw_socket::raw_socket(const std::string& address) {
  const bool unix_path = address.find('/') != std::string::npos;
  fd_ = ::socket(unix_path ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rc;
  if (unix_path) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, address.c_str(), sizeof un.sun_path - 1);
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&un), sizeof un);
  } else {
    auto sa = to_sockaddr(address);
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  if (rc != 0) {
    error_ = errno;
    close();
    return;
  }
  int one = 1;
  if (!unix_path) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

raw_socket::~raw_socket() { close(); }

void raw_socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool raw_socket::send(wire::bytes_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = errno;
      return false;
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

bool raw_socket::wait_readable(steady::time_point end) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now()).count();
    if (left < 0 || fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool raw_socket::readable(std::chrono::milliseconds timeout) {
  return wait_readable(steady::now() + timeout);
}

std::optional<wire::bytes> raw_socket::read_exact(std::size_t n,
                                                  std::chrono::milliseconds timeout) {
  const auto end = steady::now() + timeout;
  wire::bytes out(n);
  std::size_t done = 0;
  while (done < n) {
    if (!wait_readable(end)) return std::nullopt;
    const ssize_t r = ::recv(fd_, out.data() + done, n - done, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      error_ = r == 0 ? 0 : errno;
      return std::nullopt;
    }
    done += static_cast<std::size_t>(r);
  }
  return out;
}

std::optional<packet> raw_socket::read_packet(std::chrono::milliseconds timeout) {
  const auto end = steady::now() + timeout;
  auto head = read_exact(wire::header_size, timeout);
  if (!head) return std::nullopt;
  packet p{wire::decode_header(*head), {}};
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now());
  auto payload = read_exact(p.head.size, std::max(left, std::chrono::milliseconds(1)));
  if (!payload) return std::nullopt;
  p.payload = std::move(*payload);
  return p;
}

std::optional<std::string> raw_socket::read_to_eof(std::chrono::milliseconds timeout) {
  const auto end = steady::now() + timeout;
  std::string out;
  char buf[4096];
  for (;;) {
    if (!wait_readable(end)) return std::nullopt;
    const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return std::nullopt;
    if (r == 0) return out;
    out.append(buf, static_cast<std::size_t>(r));
  }
}

bool raw_socket::closed_by_peer(std::chrono::milliseconds timeout) {
  if (!wait_readable(steady::now() + timeout)) return false;
  char c;
  ssize_t r;
  do r = ::recv(fd_, &c, 1, 0);
  while (r < 0 && errno == EINTR);
  return r <= 0;
}

wire::bytes message_packet(std::uint8_t m2, const wire::value& v) {
  wire::bytes out;
  wire::append_value_packet(out, wire::to_byte(wire::modifier1::message_marshal), m2, v);
  return out;
}

std::optional<wire::value> reply_value(const packet& p) {
  wire::value v;
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  if (!wire::decode_msgpack(p.payload, lim, v).is_done()) return std::nullopt;
  return v;
}

std::optional<wire::value> call(const std::string& address, const wire::value& message,
                                std::string* why, std::chrono::milliseconds timeout) {
  auto fail = [&](const std::string& text, int error) -> std::optional<wire::value> {
    if (why) *why = text + (error ? std::string(": ") + std::strerror(error) : "");
    return std::nullopt;
  };
  raw_socket s(address);
  if (!s.connected()) return fail("connect", s.error());
  if (!s.send(message_packet(0, message))) return fail("send", s.error());
  auto reply = s.read_packet(timeout);
  if (!reply) return fail(s.error() ? "recv" : "no reply (closed or timed out)", s.error());
  if (reply->head.modifier1 == wire::to_byte(wire::modifier1::response))
    return fail("failure reply", 0);
  auto v = reply_value(*reply);
  if (!v) return fail("bad msgpack reply", 0);
  return v;
}

bool ping_ok(const std::string& address, std::chrono::milliseconds timeout) {
  raw_socket s(address);
  if (!s.connected()) return false;
  wire::header h;
  h.modifier1 = wire::to_byte(wire::modifier1::ping);
  auto head = wire::encode_header(h);
  if (!s.send(wire::bytes(head.begin(), head.end()))) return false;
  auto reply = s.read_packet(timeout);
  return reply && reply->head.modifier1 == h.modifier1 &&
         reply->head.modifier2 == wire::to_byte(wire::ping_modifier2::reply);
}

bool fresh_echo(const std::string& address, const wire::value& v,
                std::chrono::milliseconds timeout) {
  raw_socket s(address);
  if (!s.connected() || !s.send(message_packet(0, v))) return false;
  auto r = s.read_packet(timeout);
  if (!r || r->head.modifier1 != 33) return false;
  return reply_value(*r) == v;
}

stalled_listener::stalled_listener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::listen(fd_, 1024);
  socklen_t len = sizeof sa;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  address_ = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
}

stalled_listener::~stalled_listener() { ::close(fd_); }

std::string dead_address() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
}

}  // namespace brood::testing

#include "raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/msgpack_codec.hpp"

namespace brood::testing {
namespace {

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
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto sa = to_sockaddr(address);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

raw_socket::~raw_socket() { close(); }

void raw_socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool raw_socket::send(wire::bytes_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<wire::bytes> raw_socket::read_exact(std::size_t n,
                                                  std::chrono::milliseconds timeout) {
  wire::bytes out(n);
  std::size_t done = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (done < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t r = ::recv(fd_, out.data() + done, n - done, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    done += static_cast<std::size_t>(r);
  }
  return out;
}

std::optional<raw_socket::reply> raw_socket::read_packet(std::chrono::milliseconds timeout) {
  auto head = read_exact(wire::header_size, timeout);
  if (!head) return std::nullopt;
  reply r{wire::decode_header(*head), {}};
  if (r.head.size > 0) {
    auto payload = read_exact(r.head.size, timeout);
    if (!payload) return std::nullopt;
    r.payload = std::move(*payload);
  }
  return r;
}

std::optional<std::string> raw_socket::read_to_eof(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return std::nullopt;
    if (r == 0) return out;
    out.append(buf, static_cast<std::size_t>(r));
  }
}

bool raw_socket::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[256];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
}

wire::bytes message_packet(std::uint8_t m2, const wire::value& v) {
  wire::bytes out;
  wire::append_value_packet(out, wire::to_byte(wire::modifier1::message_marshal), m2, v);
  return out;
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
  wire::value got;
  if (!wire::decode_msgpack(r->payload, wire::limits{}, got).is_done()) return false;
  return got == v;
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

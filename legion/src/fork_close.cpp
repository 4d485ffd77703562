#include "fork_close.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

namespace brood::legion {
namespace {

struct watched {
  std::vector<std::uint16_t> own_ports;  // ROUTERs: the listening socket and its connections
  std::vector<endpoint> members;         // DEALERs: connections to these
};

watched& state() {
  static watched w;
  return w;
}

// "ip" and port of a socket name; false when it is no IPv4/IPv6 address.
bool name_of(const sockaddr_storage& s, std::string& ip, std::uint16_t& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (s.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  } else if (s.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(s);
    ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  } else {
    return false;
  }
  ip = text;
  if (ip.rfind("::ffff:", 0) == 0) ip.erase(0, 7);
  return true;
}

bool is_legion_socket(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  sockaddr_storage s{};
  len = sizeof s;
  std::string ip;
  std::uint16_t port = 0;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &len) == 0 && name_of(s, ip, port))
    for (std::uint16_t p : state().own_ports)
      if (p == port) return true;
  len = sizeof s;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&s), &len) != 0 || !name_of(s, ip, port))
    return false;
  for (const endpoint& e : state().members) {
    // A member named by a host name matches by port; one named by its address, by both.
    const bool by_name = e.host.find_first_not_of("0123456789.:abcdefABCDEF") != std::string::npos;
    if (e.port == port && (by_name || e.host == ip)) return true;
  }
  return false;
}

void in_child() { close_legion_sockets(); }

}  // namespace

void watch_forks(const config& c) {
  static std::once_flag registered;
  for (const legion_config& l : c.legions) {
    state().own_ports.push_back(l.address.port);
    for (const endpoint& e : l.members())
      if (!(e == l.address)) state().members.push_back(e);
  }
  std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, in_child); });
}

std::vector<int> legion_sockets() {
  std::vector<int> out;
  if (state().own_ports.empty()) return out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return out;
  std::vector<int> fds;
  while (const dirent* e = ::readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd > 2 && fd != ::dirfd(d)) fds.push_back(fd);
  }
  ::closedir(d);
  for (int fd : fds)
    if (is_legion_socket(fd)) out.push_back(fd);
  return out;
}

void close_legion_sockets() {
  for (int fd : legion_sockets()) ::close(fd);
}

}  // namespace brood::legion

#include "http_sockets.hpp"

#include <deque>
#include <utility>

namespace brood::node::detail {
namespace {

std::deque<http_socket>& marked() {  // a deque: marks never move once made
  static std::deque<http_socket> sockets;
  return sockets;
}

}  // namespace

void mark_http_socket(int fd, std::shared_ptr<tls_context> tls) {
  marked().push_back(http_socket{fd, std::move(tls)});
}

void unmark_http_socket(int fd) {
  for (http_socket& s : marked())
    if (s.fd == fd) s.fd = -1;  // never erased: find_http_socket's pointers stay valid
}

const http_socket* find_http_socket(int fd) noexcept {
  for (const http_socket& s : marked())
    if (s.fd == fd) return &s;
  return nullptr;
}

}  // namespace brood::node::detail

#pragma once
// Which listening sockets of this process speak HTTP (http-socket, http11-socket, http) or HTTPS
// (https). The node marks them when it binds them, before any worker forks; a forked worker
// inherits the marks and its listeners read them (worker.cpp). Sockets attached from a zerg
// server are never marked (they speak uwsgi). Thread-safety: mark before the workers start;
// reads are then concurrent.
#include <memory>

#include "tls_session.hpp"

namespace brood::node::detail {

struct http_socket {
  int fd = -1;
  std::shared_ptr<tls_context> tls;  // https: the socket's certificate; null for plain HTTP
};

void mark_http_socket(int fd, std::shared_ptr<tls_context> tls = nullptr);
// Removes the mark of `fd` (tests that reuse fd numbers in one process).
void unmark_http_socket(int fd);
// The mark of `fd`, or nullptr for a uwsgi socket. Valid for the life of the process.
const http_socket* find_http_socket(int fd) noexcept;

}  // namespace brood::node::detail

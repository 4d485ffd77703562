#pragma once
// Which listening sockets of this process speak HTTP (http-socket, http11-socket, http). The
// node marks them when it binds them, before any worker forks; a forked worker inherits the marks
// and its listeners read them (worker.cpp). Sockets attached from a zerg server are never marked
// (they speak uwsgi). Thread-safety: mark before the workers start; reads are then concurrent.
namespace brood::node::detail {

void mark_http_socket(int fd);
bool is_http_socket(int fd) noexcept;

}  // namespace brood::node::detail

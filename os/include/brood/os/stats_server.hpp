#pragma once
// A stats server (a node's `stats = ADDR`, the emperor's `emperor-stats`): a listening socket
// (TCP if ADDR contains ':', else a unix path) watched on the owner's event_loop. Each connection
// gets one JSON document, built when it is accepted, and is closed (uWSGI's protocol,
// UWSGI_FACTS.md §11 and §4.6; no stats-http). A client that does not take the document within
// 100 ms is dropped, and one readable event serves at most a few clients: the owner never waits
// long on them. Not thread-safe.
#include <functional>
#include <string>
#include <system_error>

#include "brood/os/event_loop.hpp"
#include "brood/os/listener.hpp"

namespace brood::os {

class stats_server {
 public:
  // Binds `address` and watches it on `loop`. On failure error() is set and `why` says what.
  // `document` is called for each connection. `loop` must outlive this object.
  stats_server(event_loop& loop, const std::string& address, std::function<std::string()> document,
               std::string& why);
  // Stops watching, closes the socket and removes its unix socket file.
  ~stats_server();
  stats_server(const stats_server&) = delete;
  stats_server& operator=(const stats_server&) = delete;

  std::error_code error() const noexcept { return error_; }
  const std::string& name() const noexcept { return socket_.name; }  // as bound
  int fd() const noexcept { return socket_.fd.get(); }

  // In a child forked from the master: closes this process's copy of the socket, leaving the
  // master's (and the unix socket file) alone. The object must then not be used any more.
  void release_in_child() noexcept;

 private:
  void on_readable();

  event_loop& loop_;
  std::function<std::string()> document_;
  bound_socket socket_;
  std::error_code error_;
};

}  // namespace brood::os

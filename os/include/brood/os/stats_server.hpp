#pragma once
// A stats server (a node's `stats = ADDR`, the emperor's `emperor-stats`): a listening socket
// (TCP if ADDR contains ':', else a unix path) watched on the owner's event_loop. Each connection
// gets one JSON document, built when it is accepted, and is closed (uWSGI's protocol,
// docs/uwsgi-compat.md §11 and §4.6; no stats-http). A client that does not take the document
// within 100 ms is dropped, and one readable event serves at most a few clients: the owner never
// waits long on them. Not thread-safe.
#include <functional>
#include <memory>
#include <string>

#include "brood/os/event_loop.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/status.hpp"

namespace brood::os {

class stats_server {
 public:
  // Binds `address` and watches it on `loop`; `document` is called for each connection. `loop`
  // must outlive the server. A socket of the same address inherited from a predecessor
  // (inherited_sockets.hpp) is served instead of binding a new one. Errors: "invalid stats address
  // \"X\": ..." (invalid_argument), "stats server: cannot bind X: ..." (bind_socket's code).
  static result<std::unique_ptr<stats_server>> open(event_loop& loop, const std::string& address,
                                                    std::function<std::string()> document);
  // Stops watching, closes the socket and removes its unix socket file (unless keep_socket_file).
  ~stats_server();
  stats_server(const stats_server&) = delete;
  stats_server& operator=(const stats_server&) = delete;

  const std::string& name() const noexcept { return socket_.name; }  // as bound
  int fd() const noexcept { return socket_.fd.get(); }

  // In a child forked from the master: closes this process's copy of the socket, leaving the
  // master's (and the unix socket file) alone. The object must then not be used any more.
  void release_in_child() noexcept;

  // A successor serves this socket now (a hand-over): the destructor leaves the unix file.
  void keep_socket_file() noexcept { keep_file_ = true; }

 private:
  stats_server(event_loop& loop, std::function<std::string()> document, bound_socket socket);
  void on_readable();

  event_loop& loop_;
  std::function<std::string()> document_;
  bound_socket socket_;
  event_loop::timer_id resume_ = 0;  // accepting paused after a failed accept (EMFILE...)
  bool keep_file_ = false;
};

}  // namespace brood::os

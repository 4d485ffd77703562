#pragma once
// The master's zerg server (`zerg-server PATH`, docs/uwsgi-compat.md §6): a unix socket, mode 0600,
// watched on the master's event_loop. Each connection from a process of the master's uid (or root,
// checked with SO_PEERCRED) gets one message in uWSGI's framing, "uwsgi-zerg" + the count, with
// every listening socket in one SCM_RIGHTS array, and is closed; other uids get nothing (logged).
// The server never reads from a client and never waits on one: a client that sends garbage or
// never reads costs one non-blocking sendmsg. Not thread-safe.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "brood/os/event_loop.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/status.hpp"

namespace brood::node {

class zerg_server {
 public:
  // Binds the unix socket `path` (a stale file replaced; a socket of that path inherited from a
  // predecessor, os/inherited_sockets.hpp, is served instead) and watches it on `loop`. `fds` are
  // the sockets to hand out (duplicates and -1 skipped); they stay owned by the caller and open
  // while the server lives. `attached` is called after each zerg served. `loop` must outlive the
  // server. Error: "zerg server: cannot bind PATH: ..." (bind_socket's code).
  static os::result<std::unique_ptr<zerg_server>> open(os::event_loop& loop,
                                                       const std::string& path,
                                                       const std::vector<int>& fds,
                                                       std::function<void()> attached);
  // Stops watching, closes the socket and removes its file (unless keep_socket_file).
  ~zerg_server();
  zerg_server(const zerg_server&) = delete;
  zerg_server& operator=(const zerg_server&) = delete;

  const std::string& name() const noexcept { return socket_.name; }
  int fd() const noexcept { return socket_.fd.get(); }

  // In a child forked from the master: closes this process's copy of the socket, leaving the
  // master's (and the socket file) alone. The object must then not be used any more.
  void release_in_child() noexcept { socket_.fd.reset(); }

  // A successor serves this socket now (a hand-over): the destructor leaves the file.
  void keep_socket_file() noexcept { keep_file_ = true; }

 private:
  zerg_server(os::event_loop& loop, os::bound_socket socket, std::vector<int> fds,
              std::function<void()> attached);
  void on_readable();
  // Serves one accepted client; true when it got the sockets.
  bool serve(int client);

  os::event_loop& loop_;
  os::event_loop::timer_id resume_ = 0;  // accepting paused after a failed accept (EMFILE...)
  bool keep_file_ = false;
  os::bound_socket socket_;
  std::vector<int> fds_;
  std::function<void()> attached_;
};

}  // namespace brood::node

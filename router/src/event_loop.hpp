#pragma once
// The router's data-path event loop (private to brood::router): an edge-triggered epoll set of its
// own, waited for through the router's io_context (one asio wait per batch of events). Each socket
// of the data path is registered once, for every event it will ever need, and its handler tracks
// readiness itself: no per-operation re-arming. Objects are deleted after the batch that retired
// them (an event of the same batch may still name them). Single-threaded: the io_context thread.
#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "brood/os/asio.hpp"

namespace brood::router {

class fd_handler {
 public:
  // `events`: the EPOLL* bits reported for the handler's socket.
  virtual void on_events(std::uint32_t events) = 0;

 protected:
  ~fd_handler() = default;
};

// Something whose deletion waits for the end of the batch.
class retired {
 public:
  virtual ~retired() = default;
};

class event_loop {
 public:
  explicit event_loop(asio::io_context& io);
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // Registers `fd` edge-triggered for `events` (EPOLLET is added) with handler `h`. A closed fd
  // leaves the set by itself. Returns false (errno set) when epoll_ctl fails.
  bool add(int fd, std::uint32_t events, fd_handler* h);
  // Deletes `r` after the current batch (or soon, outside of one).
  void retire(std::unique_ptr<retired> r);

 private:
  void arm();
  void drain();
  void flush();

  asio::io_context& io_;
  asio::posix::stream_descriptor epoll_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::unique_ptr<retired>> graveyard_;
  bool in_batch_ = false, flush_posted_ = false;
};

}  // namespace brood::router

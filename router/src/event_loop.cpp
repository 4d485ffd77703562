#include "event_loop.hpp"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace brood::router {
namespace {

int make_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  return fd;
}

}  // namespace

event_loop::event_loop(asio::io_context& io) : io_(io), epoll_(io, make_epoll()) { arm(); }

event_loop::~event_loop() {
  *alive_ = false;
  graveyard_.clear();
}

bool event_loop::add(int fd, std::uint32_t events, fd_handler* h) {
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = h;
  return ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

void event_loop::retire(std::unique_ptr<retired> r) {
  graveyard_.push_back(std::move(r));
  if (in_batch_ || flush_posted_) return;
  flush_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (!*alive) return;
    flush_posted_ = false;
    flush();
  });
}

void event_loop::flush() {
  // A destructor may retire more: swap until empty.
  while (!graveyard_.empty()) {
    std::vector<std::unique_ptr<retired>> dead;
    dead.swap(graveyard_);
  }
}

void event_loop::arm() {
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, alive = alive_](const boost::system::error_code& ec) {
                      if (!*alive || ec == asio::error::operation_aborted) return;
                      drain();
                      arm();
                    });
}

// Edge-triggered outside (asio's set) as inside: the set is read until a wait returns fewer events
// than asked, after which any new event makes a new edge.
void event_loop::drain() {
  constexpr int max_events = 64;
  epoll_event events[max_events];
  for (;;) {
    const int n = ::epoll_wait(epoll_.native_handle(), events, max_events, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    in_batch_ = true;
    for (int i = 0; i < n; ++i)
      static_cast<fd_handler*>(events[i].data.ptr)->on_events(events[i].events);
    in_batch_ = false;
    flush();
    if (n < max_events) break;
  }
}

}  // namespace brood::router

#pragma once
// One connection from the router to a node (private to brood::router). Owned by the session it
// serves, or by the core's pool of kept connections while idle (brood nodes that subscribed with
// keepalive=1: docs/protocol.md §6.1). Registered once in the event loop, for reading, writing and
// the peer's close; events go to the owning session, or, while idle, close it (the node closed an
// idle connection, or wrote something it should not have).
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "event_loop.hpp"

namespace brood::router {

class core;
class session;

class upstream final : public fd_handler, public retired {
 public:
  upstream(core& c, int fd, std::string address, bool kept)
      : c_(c), fd_(fd), address_(std::move(address)), kept_(kept) {}
  ~upstream() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void on_events(std::uint32_t events) override;

  int fd() const noexcept { return fd_; }
  const std::string& address() const noexcept { return address_; }
  bool kept() const noexcept { return kept_; }

  session* owner = nullptr;                          // null while idle in the pool
  std::chrono::steady_clock::time_point idle_since;  // while idle
  std::uint64_t requests = 0;                        // answers read from it

 private:
  core& c_;
  int fd_;
  std::string address_;
  bool kept_;
};

}  // namespace brood::router

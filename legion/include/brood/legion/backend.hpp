#pragma once
// What one legion's thread drives: the ZeroMQ election (election.hpp over ZeroMQ sockets) or etcd
// (a lease and etcd's election API). members.hpp owns the thread, the hooks and the views; a
// backend only elects and reports, in order, on the calling thread.
#include <functional>
#include <memory>
#include <stop_token>
#include <string>

#include "brood/legion/config.hpp"
#include "brood/legion/election.hpp"
#include "brood/legion/placement_runner.hpp"
#include "brood/legion/view.hpp"
#include "brood/os/status.hpp"

namespace brood::legion {

struct backend_events {
  // lord, unlord, join, node_joined, node_left, in the order they happened.
  std::function<void(const election_event&)> on_event;
  // After every change of the view (members seen, lord, epoch).
  std::function<void(const legion_view&)> on_view;
};

class backend {
 public:
  virtual ~backend() = default;
  // Runs on the calling thread until `stop` is requested (it must wake at once: a stop_callback
  // pokes the loop), then stops acting: a lord resigns (etcd: revokes its lease) and reports
  // unlord, `dead` is announced. Returns ok, or the error that ended it early (logged by members).
  virtual os::status run(std::stop_token stop, const backend_events& ev) = 0;
  virtual legion_view view() const = 0;  // thread-safe
  // Before run(): the placement this legion's thread runs (emperor = legion:NAME,DIR; over
  // ZeroMQ messages or etcd keys). Must outlive run().
  void attach_placement(placement_runner* p) noexcept { placement_ = p; }

 protected:
  placement_runner* placement_ = nullptr;
};

// Both bind or connect before returning, so that a bad address is an error at start.
// ZeroMQ: binds a ROUTER at c.address; error "cannot bind HOST:PORT: <zmq error>".
std::unique_ptr<backend> make_zmq_backend(const legion_config& c, const timing& t,
                                          std::string& error);
// etcd: checks the endpoints answer (/v3/maintenance/status); also binds a ROUTER at c.address
// that answers `query` only (for `brood legion ADDR`).
std::unique_ptr<backend> make_etcd_backend(const legion_config& c, const timing& t,
                                           std::string& error);

}  // namespace brood::legion

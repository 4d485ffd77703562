#pragma once
// A worker: accepts connections on the node's listening sockets and answers requests with the
// router, all on one io_context (one thread). Slow clients never hold it: reads and writes are
// asynchronous and bounded by socket-timeout; handlers run one at a time.
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/router.hpp"
#include "brood/os/asio.hpp"

namespace brood::node {

class worker {
 public:
  // Takes ownership of `listen_fds` (listening sockets, already bound). `r` and `cfg` must
  // outlive the worker. `core`: which core (request thread) of its process this worker is, for
  // the stats (threads: one worker object per core, each on its own io_context and thread).
  // REQUIRES: core < 256.
  worker(asio::io_context& io, const router& r, const node_config& cfg, std::vector<int> listen_fds,
         unsigned core = 0);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  // Takes `listen_fds` too, as the constructor does (a worker made ahead of its sockets).
  // REQUIRES: before start().
  void adopt_listeners(std::vector<int> listen_fds);

  // Starts accepting. REQUIRES: called once, before io.run().
  void start();
  // Stops accepting (closes its listening fds), lets requests in progress finish and be
  // answered, closes idle connections; when the last connection is gone the io_context runs out
  // of work. Idempotent.
  void stop_gracefully();
  // Closes everything now.
  void stop_now();

  std::size_t connection_count() const noexcept;
  // Called after each answered request (the emperor's "loyal" hook, stats). May be empty.
  void on_request_done(std::function<void()> fn);
  // The function given to on_request_done (empty if none).
  const std::function<void()>& request_done_hook() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// uWSGI's FAILED_APP exit status: the application could not be loaded.
inline constexpr int failed_app_status = 22;

// The body of a worker process after fork: INT/TERM/QUIT/HUP stop it gracefully; it exits when
// its parent dies (PR_SET_PDEATHSIG). With cfg.threads > 1 it runs that many cores, each a worker
// object on its own thread and io_context accepting on duplicates of the listening sockets, so
// the process serves that many requests at once. Returns the process exit status.
int run_worker(const node_config& cfg, const router& r, std::vector<int> listen_fds);

}  // namespace brood::node

#pragma once
// The worker process body with extensions: behaviour a master adds to its workers (the emperor
// link's accepting, loyal and heartbeat messages) without the worker knowing about it.
#include <functional>
#include <memory>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/router.hpp"
#include "brood/node/worker.hpp"
#include "brood/os/asio.hpp"

namespace brood::node {

// Lives in one worker process: made after the worker (before it starts accepting), destroyed
// before it. stop() is called on the first stop signal, once; afterwards the extension must
// leave no pending work on the io_context, so that the worker can end once it is drained.
class worker_extension {
 public:
  virtual ~worker_extension() = default;
  virtual void stop() = 0;
};

// Makes the extension of a worker process; may return nullptr (none).
using worker_extension_factory =
    std::function<std::unique_ptr<worker_extension>(asio::io_context& io, worker& w)>;

// Makes this process's cores ahead of its listening sockets (each an io_context with its
// reactor and a worker with no listener), for the next run_worker of `cfg` and `r` in this
// process, which then gives them the sockets: the fork server's pre-forked worker makes them
// before its master's hand-over, off the adoption's path. Single-threaded callers.
void prepare_worker_cores(const node_config& cfg, const router& r);

// run_worker (brood/node/worker.hpp) with an extension made by `extend` (may be empty).
int run_worker(const node_config& cfg, const router& r, std::vector<int> listen_fds,
               const worker_extension_factory& extend);

}  // namespace brood::node

#pragma once
// Worker lifetime: harakiri, max-requests, max-worker-lifetime, reload-on-rss and the other
// recycling options (docs/config.md "Worker lifetime"). Filled by the CLI
// (cli/src/lifetime_options.cpp); every option implies the master.
//
// Who acts:
//  * the master kills (SIGKILL) a worker stuck in one request longer than `harakiri`, or whose
//    memory is above an evil-reload-on-* limit, and respawns it;
//  * the master recycles a worker after max-worker-lifetime (+ id * delta): SIGTERM, the worker
//    stops accepting, finishes what it holds and exits, and is respawned at once;
//  * a worker recycles itself after a request that brings it to max-requests, or leaves it above
//    reload-on-rss / reload-on-as: it stops accepting at once, finishes what it holds and exits;
//    the master respawns it at once. Connections wait in the listen queue meanwhile (the master
//    keeps the sockets open): none is refused.
// min-worker-lifetime: a worker younger than this is not recycled by max-requests or reload-on-*
// (uWSGI 2.0.21's default is 10 s).
#include <chrono>
#include <cstdint>

namespace brood::node {

struct lifetime_config {
  std::chrono::seconds harakiri{0};  // 0: off
  bool harakiri_verbose = false;     // also log the worker's kernel wait channel and syscall
  std::uint64_t max_requests = 0;    // 0: off
  std::chrono::seconds min_worker_lifetime{10};
  std::chrono::seconds max_worker_lifetime{0};        // 0: off
  std::chrono::seconds max_worker_lifetime_delta{0};  // worker id * delta is added
  std::uint64_t reload_on_rss = 0;                    // bytes; 0: off
  std::uint64_t reload_on_as = 0;                     // bytes; 0: off
  std::uint64_t evil_reload_on_rss = 0;               // bytes; 0: off
  std::uint64_t evil_reload_on_as = 0;                // bytes; 0: off
  std::chrono::seconds mem_collector_freq{3};         // the master's evil-reload check period

  // A worker checks its own limits after each request.
  bool worker_checks() const noexcept {
    return max_requests > 0 || reload_on_rss > 0 || reload_on_as > 0;
  }
  bool evil() const noexcept { return evil_reload_on_rss > 0 || evil_reload_on_as > 0; }
  bool any() const noexcept {
    return harakiri.count() > 0 || worker_checks() || evil() || max_worker_lifetime.count() > 0;
  }
};

}  // namespace brood::node

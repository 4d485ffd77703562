#pragma once
// A worker's side of the emperor channel (docs/protocol.md §11): worker 1 sends accepting (5)
// when it starts, any worker sends loyal (17) after the first request completed in the node
// (once per node lifetime), and with `heartbeat` > 0 every worker sends heartbeat (26) every
// that many seconds until it is told to stop. A fork server's adopted worker 1 records its pages
// for later workers-to-be a moment after its first request (fork_server_pages.hpp), off that
// request's path. Runs on the worker's io_context; not thread-safe.
#include <chrono>
#include <memory>

#include "brood/node/worker.hpp"
#include "brood/os/asio.hpp"
#include "emperor_link.hpp"
#include "worker_process.hpp"

namespace brood::node {

class vassal_worker final : public worker_extension {
 public:
  // Sets `w`'s request-done hook and starts the heartbeat timer. `link` must outlive this (it is
  // the master's, inherited by fork). REQUIRES: link.active().
  vassal_worker(asio::io_context& io, worker& w, const emperor_link& link, unsigned worker_id,
                std::chrono::seconds heartbeat);
  // Stops the heartbeat.
  void stop() override;

  // The factory for master::worker_body; nullptr (no extension) when `link` is inactive.
  static std::unique_ptr<worker_extension> make(asio::io_context& io, worker& w,
                                                const emperor_link& link, unsigned worker_id,
                                                std::chrono::seconds heartbeat);

 private:
  void arm_heartbeat();

  const emperor_link& link_;
  std::chrono::seconds heartbeat_;
  asio::steady_timer timer_;
  asio::steady_timer record_timer_;
  bool stopped_ = false;
};

}  // namespace brood::node

#include "vassal_worker.hpp"

#include "brood/os/step_trace.hpp"
#include "fork_server_pages.hpp"

namespace brood::node {

vassal_worker::vassal_worker(asio::io_context& io, worker& w, const emperor_link& link,
                             unsigned worker_id, std::chrono::seconds heartbeat)
    : link_(link), heartbeat_(heartbeat), timer_(io), record_timer_(io) {
  w.on_request_done([this, first = true]() mutable {
    if (first) {
      os::step_trace("worker.first_done");
      // Once the answer is out of the way (a fork server's adopted worker 1 only).
      record_timer_.expires_after(std::chrono::milliseconds(200));
      record_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopped_) written_ahead::record_once();
      });
    }
    first = false;
    link_.send_loyal_once();
  });
  if (worker_id == 1) link_.send(wire::vassal_message::accepting);
  if (heartbeat_.count() > 0) {
    link_.send(wire::vassal_message::heartbeat);
    arm_heartbeat();
  }
}

void vassal_worker::stop() {
  stopped_ = true;
  timer_.cancel();
  record_timer_.cancel();
}

void vassal_worker::arm_heartbeat() {
  timer_.expires_after(heartbeat_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    link_.send(wire::vassal_message::heartbeat);
    arm_heartbeat();
  });
}

std::unique_ptr<worker_extension> vassal_worker::make(asio::io_context& io, worker& w,
                                                      const emperor_link& link, unsigned worker_id,
                                                      std::chrono::seconds heartbeat) {
  if (!link.active()) return nullptr;
  return std::make_unique<vassal_worker>(io, w, link, worker_id, heartbeat);
}

}  // namespace brood::node

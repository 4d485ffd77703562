// master: the master FIFO's commands (docs/uwsgi-compat.md §5.3) turned into master_core events.
#include "brood/os/log.hpp"
#include "master.hpp"

namespace brood::node {
namespace {

// The letters whose subsystem brood does not have: what the log says instead.
const char* missing_subsystem(fifo_command c) {
  switch (c) {
    case fifo_command::emperor_rescan:
      return "this master runs no emperor";
    case fifo_command::refork:
      return "brood does not re-fork its master";
    case fifo_command::reopen_log:
    case fifo_command::rotate_log:
      return "brood logs to stderr: there is no log file";
    case fifo_command::write_pidfiles:
      return "brood writes no pidfile";
    default:
      return nullptr;
  }
}

}  // namespace

bool master::start_fifo() {
  if (cfg_.master_fifo.empty()) return true;
  auto fifo = master_fifo::open(loop_, cfg_.master_fifo, [this](fifo_command c) {
    on_fifo_command(c);
    after_event();
  });
  if (!fifo) {
    os::log(fifo.error().message());
    return false;
  }
  fifo_ = std::move(*fifo);
  os::log("master FIFO on ", fifo_->path());
  return true;
}

void master::on_fifo_command(fifo_command c) {
  if (const char* why = missing_subsystem(c)) {
    os::log("master FIFO ", static_cast<char>(c), " (", to_string(c), ") ignored: ", why);
    return;
  }
  const moment now = moment::now();
  using kind = master_core::reload_kind;
  switch (c) {
    case fifo_command::more_workers:
      return core_->cheaper_delta(+1, now);
    case fifo_command::fewer_workers:
      return core_->cheaper_delta(-1, now);
    case fifo_command::reinforcements:
      return core_->ask_reinforcements();
    case fifo_command::chain_reload:
      return core_->chain_reload(now);
    case fifo_command::go_cheap:
      return core_->go_cheap(now);
    case fifo_command::toggle_pause:
      return core_->toggle_pause(now);
    case fifo_command::graceful_shutdown:
      return core_->shutdown(now);
    case fifo_command::brutal_shutdown:
      return core_->stop_brutally(now);
    case fifo_command::graceful_reload:
      return core_->reload(kind::graceful, true, now);
    case fifo_command::brutal_reload:
      return core_->reload(kind::brutal, true, now);
    case fifo_command::toggle_subscriptions:
      return core_->toggle_subscriptions(now);
    case fifo_command::log_stats:
      return core_->log_status();
    case fifo_command::graceful_worker_reload:
      return core_->reload(kind::graceful, false, now);
    case fifo_command::brutal_worker_reload:
      return core_->reload(kind::brutal, false, now);
    default:
      return;
  }
}

}  // namespace brood::node

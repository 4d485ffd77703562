// master_core: the broodlord triggers of a vassal (vassal-sos, vassal-sos-backlog): an SOS
// (byte 30) asks the emperor for a zerg; the FIFO's B sends one on demand (master_core_idle.cpp).
#include "brood/os/log.hpp"
#include "master_core.hpp"
#include "master_core_detail.hpp"

namespace brood::node {
namespace {

// While every worker is busy, the triggers are looked at this often.
constexpr std::chrono::milliseconds sos_poll{100};
// After an SOS that no zerg answered, the next one may follow after this.
constexpr std::chrono::seconds sos_retry{5};

}  // namespace

bool master_core::sos_enabled() const noexcept {
  return cfg_.vassal_sos.count() > 0 || cfg_.vassal_sos_backlog > 0;
}

bool master_core::sos_allowed(const moment& now) const noexcept {
  return !last_sos_at_ || zerg_since_sos_ || now.mono - *last_sos_at_ >= sos_retry;
}

void master_core::on_zerg_attached(const moment& /*now*/) {
  os::log("a zerg attached to this node's sockets");
  zerg_since_sos_ = true;
}

void master_core::check_sos(const moment& now) {
  sos_check_at_.reset();
  if (!sos_enabled() || stopping_ || sleeping_ || paused_) return;
  unsigned busy = 0;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const pid_t pid = workers_.at(i).pid;
    const scoreboard::slot& b = board_.at(static_cast<unsigned>(i + 1));
    if (pid > 0 && b.pid.load() == pid && b.state.load() == slot_state::busy) ++busy;
  }
  const bool all_busy = busy >= workers_.size();
  if (!all_busy) {
    all_busy_since_.reset();
  } else if (!all_busy_since_) {
    all_busy_since_ = now.mono;
  }
  std::string why;
  if (cfg_.vassal_sos.count() > 0 && all_busy_since_ &&
      now.mono - *all_busy_since_ >= cfg_.vassal_sos) {
    why = "all " + std::to_string(busy) + " workers busy for " +
          std::to_string(detail::ms(now.mono - *all_busy_since_)) + " ms";
  } else if (cfg_.vassal_sos_backlog > 0) {
    const std::uint64_t queued = launcher_.listen_backlog();
    if (queued >= cfg_.vassal_sos_backlog)
      why = std::to_string(queued) + " connections waiting (vassal-sos-backlog " +
            std::to_string(cfg_.vassal_sos_backlog) + ")";
  }
  if (!why.empty() && sos_allowed(now)) {
    os::log("broodlord trigger: ", why);
    ask_reinforcements();
    last_sos_at_ = now.mono;
    zerg_since_sos_ = false;
  }
  if (all_busy) sos_check_at_ = now.mono + sos_poll;
}

}  // namespace brood::node

// master_core: when the subscription client sends its rounds (docs/uwsgi-compat.md §10): at the
// start, one second later, then every subscribe-freq counted from the start (uWSGI: master cycle
// 0, cycle 1, then every subscribe-freq cycles); a withdrawal on stop, pause and (optionally)
// graceful reload; FIFO S blocks both.
#include "brood/os/log.hpp"
#include "master_core.hpp"

namespace brood::node {

void master_core::start_subscriptions(const moment& now) {
  if (!cfg_.subscribe) return;
  subscriptions_blocked_ = cfg_.start_unsubscribed;
  if (subscriptions_blocked_)
    os::log("subscriptions are blocked (start-unsubscribed): master FIFO S sends them");
  subscribe_origin_ = now.mono;
  subscribe_rounds_ = 0;
  subscribe_round("start");
  subscribe_at_ = now.mono + std::chrono::seconds(1);
}

// A periodic round is due.
void master_core::check_subscriptions(const moment& now) {
  if (stopping_) {
    subscribe_at_.reset();
    return;
  }
  subscribe_round("periodic");
  const auto freq = std::max(cfg_.subscribe_freq, std::chrono::seconds(1));
  // The next multiple of subscribe-freq after the start that is still ahead (a late tick skips
  // the rounds it missed rather than sending them in a burst).
  do {
    ++subscribe_rounds_;
  } while (subscribe_origin_ + freq * subscribe_rounds_ <= now.mono);
  subscribe_at_ = subscribe_origin_ + freq * subscribe_rounds_;
}

void master_core::subscribe_round(const char* /*why*/) {
  if (!cfg_.subscribe || subscriptions_blocked_ || paused_ || stopping_ || withdrawn_) return;
  launcher_.send_subscriptions(false);
}

void master_core::unsubscribe_round(const char* why) {
  if (!cfg_.subscribe || subscriptions_blocked_) return;
  if (cfg_.shares_vassal_sockets) {
    os::log("not unsubscribing (", why,
            "): this zerg announces its vassal's sockets, which stay subscribed");
    return;
  }
  os::log("unsubscribing: ", why);
  launcher_.send_subscriptions(true);
}

void master_core::toggle_subscriptions(const moment& /*now*/) {
  if (!cfg_.subscribe) {
    os::log("master FIFO S ignored: this node has no subscriptions");
    return;
  }
  subscriptions_blocked_ = !subscriptions_blocked_;
  os::log(subscriptions_blocked_ ? "subscriptions blocked (master FIFO S)"
                                 : "subscriptions unblocked (master FIFO S)");
  if (!subscriptions_blocked_) subscribe_round("unblocked");
}

}  // namespace brood::node

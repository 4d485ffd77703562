// Lordship (election.hpp rules): the lease ends lease * (1 - drift) after the request or the last
// renew a quorum acknowledged was SENT; the lord renews every heartbeat and steps down a heartbeat
// before its lease ends, when another member renews a higher epoch, or for a better candidate
// (it resigns). A higher epoch merely seen (a candidacy that failed) changes nothing: while our
// lease holds, no one can have won one.
#include <algorithm>

#include "election_state.hpp"

namespace brood::legion {

void election::state::become_lord(clock::time_point now) {
  lord = true;
  lord_epoch = request->epoch;
  lease_end = request->sent + safe_lease;
  lord_since = now;
  request.reset();
  renews.clear();
  known_lord.reset();
  event(hook_event::lord);
  next_renew = now;  // at once: the others learn who the lord is
  renew_if_due(now);
}

void election::state::renew_if_due(clock::time_point now) {
  if (!lord || now < next_renew) return;
  if (!promised || promised->uuid != self.uuid || promised->epoch != lord_epoch) {
    step_down(now, true, "our own promise is gone");  // never renew without our vote
    return;
  }
  promised->expires = now + lease;
  renews.push_back(pending{next_ref++, lord_epoch, now, {self.address}});
  const std::size_t keep = static_cast<std::size_t>(lease / heartbeat) + 2;
  if (renews.size() > keep) renews.erase(renews.begin());
  if (params.quorum <= 1) lease_end = std::max(lease_end, now + safe_lease);
  message m;
  m.type = message_type::renew;
  m.epoch = lord_epoch;
  m.ref = renews.back().ref;
  send({}, std::move(m));
  next_renew = now + heartbeat;
}

void election::state::on_renew_ack(const message& m, clock::time_point) {
  if (!lord || !m.granted || m.epoch != lord_epoch) return;
  for (pending& p : renews) {
    if (p.ref != m.ref) continue;
    p.granted.insert(m.from);
    if (p.granted.size() >= params.quorum) lease_end = std::max(lease_end, p.sent + safe_lease);
    return;
  }
}

void election::state::check_lordship(clock::time_point now) {
  if (!lord) return;
  if (lease_end - now <= heartbeat) {
    step_down(now, true, "the lease was not renewed: too few renew acks in time");
    return;
  }
  // A better member takes over once it has run for a lease (it can grant itself one by then),
  // unless the lord keeps its lordship while it holds.
  if (params.keep_lord) return;
  const std::optional<std::string> best = best_candidate(now, true);
  if (best && !best->empty()) step_down(now, true, "a better member is alive (it takes over)");
}

void election::state::step_down(clock::time_point now, bool resign, const char* why) {
  lord = false;
  renews.clear();
  event(hook_event::unlord);
  events.back().why = why;
  if (resign) {
    message m;
    m.type = message_type::resign;
    m.epoch = lord_epoch;
    send({}, std::move(m));
  }
  if (promised && promised->uuid == self.uuid) promised.reset();
  next_request = now + heartbeat;
}

}  // namespace brood::legion

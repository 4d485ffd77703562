// Voting (election.hpp rules): a member promises one candidate at a time, for one lease after it
// received the request or the last renew, only for an epoch above every epoch it granted, and
// only once it has run for a lease (a restarted member may have forgotten a promise).
#include <algorithm>

#include "election_state.hpp"

namespace brood::legion {

bool election::state::warmed_up(clock::time_point now) const { return now - started >= lease; }

bool election::state::promised_to_other(const std::string& uuid, clock::time_point now) const {
  return promised && promised->expires > now && promised->uuid != uuid;
}

void election::state::on_lease_request(const message& m, clock::time_point now) {
  const bool grant = warmed_up(now) && !promised_to_other(m.uuid, now) && m.epoch > granted_epoch;
  if (grant) {
    if (lord) step_down(now, false, "granted another candidate: our own promise had expired");
    promised = promise{m.uuid, m.from, m.epoch, now + lease};
    granted_epoch = m.epoch;
    note_epoch(m.epoch);
    if (request) request.reset();  // our own candidacy lost this voter: ourselves
  }
  message r;
  r.type = message_type::lease_grant;
  r.ref = m.ref;
  r.granted = grant;
  r.epoch = grant ? m.epoch : std::max(highest_epoch, granted_epoch);
  if (promised && promised->expires > now) r.lord_uuid = promised->uuid;
  send(m.from, std::move(r));
}

void election::state::on_renew(const message& m, clock::time_point now) {
  // Another lord of a higher epoch: only possible once every member that knew ours restarted.
  if (lord && m.epoch > lord_epoch) step_down(now, true, "another lord renews a higher epoch");
  // The promise held for (uuid, epoch) is extended. A free member takes the renew as a request
  // (the same rule as a grant); one whose promise to that lord merely expired takes it up again
  // while it granted no higher epoch since. Either way no one else holds a lease from it then.
  const bool held = promised && promised->uuid == m.uuid && promised->epoch == m.epoch;
  bool ok = held && promised->expires > now;
  if (!ok && warmed_up(now) && !promised_to_other(m.uuid, now)) {
    ok = m.epoch > granted_epoch || (held && m.epoch == granted_epoch);
  }
  if (ok) {
    if (lord && m.uuid != self.uuid)
      step_down(now, false, "renewed another lord: our own promise was over");
    if (request && m.uuid != self.uuid) request.reset();
    promised = promise{m.uuid, m.from, m.epoch, now + lease};
    granted_epoch = std::max(granted_epoch, m.epoch);
  }
  if (ok || !known_lord || known_lord->expires <= now || m.epoch >= known_lord->epoch) {
    known_lord = promise{m.uuid, m.from, m.epoch, now + lease};
  }
  note_epoch(m.epoch);
  message r;
  r.type = message_type::renew_ack;
  r.ref = m.ref;
  r.epoch = m.epoch;
  r.granted = ok;
  send(m.from, std::move(r));
}

void election::state::on_resign(const message& m, clock::time_point now) {
  if (promised && promised->uuid == m.uuid && promised->epoch == m.epoch) promised.reset();
  next_request = std::min(next_request, now);  // the others are being freed too: no need to wait
  if (known_lord && known_lord->uuid == m.uuid) known_lord.reset();
}

void election::state::release_promise_of(const std::string& address) {
  if (promised && promised->address == address) {
    promised.reset();
    next_request = std::min(next_request, last_now);
  }
  if (known_lord && known_lord->address == address) known_lord.reset();
}

}  // namespace brood::legion

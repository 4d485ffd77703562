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
    if (lord) step_down(now, false);  // our own promise expired: so did our lease
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
  // The promise held for (uuid, epoch) is extended. One that merely expired may be taken up
  // again while no higher epoch was granted since: no one else can hold a lease from us then.
  const bool ours = promised && promised->uuid == m.uuid && promised->epoch == m.epoch;
  const bool ok = ours && (promised->expires > now || (m.epoch == granted_epoch && warmed_up(now) &&
                                                       !promised_to_other(m.uuid, now)));
  if (ok) {
    promised->expires = now + lease;
  }
  if (ok || m.epoch >= highest_epoch) {
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

// Candidacy (election.hpp rules): the best candidate, holding no promise to another member, asks
// every member for a lease at a new epoch, granting itself first; grants from a quorum answering
// that very request (its ref and epoch) make it lord.
#include <algorithm>
#include <cstdint>

#include "election_state.hpp"

namespace brood::legion {

void election::state::abandon_request() {
  // Voters that granted may let go at once instead of waiting a lease.
  message r;
  r.type = message_type::resign;
  r.epoch = request->epoch;
  send({}, std::move(r));
  if (promised && promised->uuid == self.uuid) promised.reset();
  request.reset();
}

void election::state::consider_candidacy(clock::time_point now) {
  if (lord || stopped) return;
  const std::optional<std::string> best = best_candidate(now);
  const bool me = best && best->empty();
  if (request) {
    if (!me) {
      abandon_request();
    } else if (now - request->sent >= heartbeat) {
      request.reset();  // unanswered: its promises expire by themselves; a new epoch next
    } else {
      return;
    }
  }
  if (!me || now < next_request || !warmed_up(now) || promised_to_other(self.uuid, now)) return;
  // keep_lord: no challenge while a lord is known, nor for a lease after it was last known, nor
  // before this member has heard a quorum for a lease without a break: a member back from a cut
  // hears the lord's renews by then. (Otherwise it ran at once, failed, and its higher granted
  // epoch made it refuse the lord's renews from then on: one more cut elsewhere deposed the lord.)
  if (params.keep_lord &&
      (now - lord_seen < lease || !eligible_since || now - *eligible_since < lease))
    return;
  if (std::max(highest_epoch, granted_epoch) == UINT64_MAX) return;  // no epoch left above
  const std::uint64_t e = std::max(highest_epoch, granted_epoch) + 1;
  promised = promise{self.uuid, self.address, e, now + lease};
  granted_epoch = e;
  note_epoch(e);
  request = pending{next_ref++, e, now, {self.address}};
  next_request = now + heartbeat;
  message m;
  m.type = message_type::lease_request;
  m.epoch = e;
  m.ref = request->ref;
  send({}, std::move(m));
  if (request->granted.size() >= params.quorum) become_lord(now);
}

void election::state::on_lease_grant(const message& m, clock::time_point now) {
  if (!request || m.ref != request->ref) return;
  if (!m.granted) {
    // Refused by so many that no quorum is left: give up now, so that a release (resign, dead,
    // a closed connection) can start the next request at once.
    request->refused.insert(m.from);
    if (params.members.size() - request->refused.size() < params.quorum) request.reset();
    return;
  }
  if (m.epoch != request->epoch) return;
  request->granted.insert(m.from);
  if (request->granted.size() < params.quorum) return;
  if (request->sent + safe_lease - now <= heartbeat) {
    request.reset();  // answered too late: the lease would be over before it is used
    return;
  }
  become_lord(now);
}

}  // namespace brood::legion

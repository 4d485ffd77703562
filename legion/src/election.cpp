// The election's entry points (election.hpp): dispatch of messages and ticks, heartbeats, the
// deadline and the view. The rules live in the election_*.cpp parts.
#include <algorithm>
#include <utility>

#include "election_state.hpp"

namespace brood::legion {
namespace {

clock::duration scaled(milliseconds d, double factor) {
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double, std::milli>(static_cast<double>(d.count()) * factor));
}

}  // namespace

election::state::state(identity id, election_params p, clock::time_point now)
    : self(std::move(id)),
      params(std::move(p)),
      started(now),
      lease(params.times.lease),
      heartbeat(params.times.heartbeat),
      safe_lease(scaled(params.times.lease, 1.0 - params.drift)),
      last_now(now),
      next_heartbeat(now),
      next_request(now) {
  if (params.quorum == 0) params.quorum = 1;  // a lease always needs at least its holder's vote
  for (const std::string& a : params.members) {
    if (a != self.address) peers.emplace(a, peer{});
  }
}

void election::state::send(const std::string& to, message m) {
  m.legion = self.legion;
  m.hears = hears(last_now);
  out.push_back(outgoing{to, std::move(m)});
}

void election::state::event(hook_event kind, std::string member) {
  const std::uint64_t e =
      kind == hook_event::lord || kind == hook_event::unlord ? lord_epoch : current_epoch();
  events.push_back(election_event{kind, std::move(member), e});
}

void election::state::note_epoch(std::uint64_t e) { highest_epoch = std::max(highest_epoch, e); }

std::uint64_t election::state::current_epoch() const {
  if (lord) return lord_epoch;
  if (known_lord && known_lord->expires > last_now) return known_lord->epoch;
  return highest_epoch;
}

void election::state::send_heartbeat(clock::time_point now) {
  if (now < next_heartbeat) return;
  message m;
  m.type = message_type::heartbeat;
  m.epoch = highest_epoch;
  if (lord) {
    m.lord_uuid = self.uuid;
  } else if (known_lord && known_lord->expires > now) {
    m.lord_uuid = known_lord->uuid;
  }
  send({}, std::move(m));
  next_heartbeat = now + heartbeat;
}

void election::state::housekeeping(clock::time_point now) {
  expire_peers(now);
  if (!joined && eligible_self(now)) {
    joined = true;
    event(hook_event::join);
  }
  check_lordship(now);
  renew_if_due(now);
  if (lord || (known_lord && known_lord->expires > now)) lord_seen = now;
  if (!eligible_self(now)) {
    eligible_since.reset();
  } else if (!eligible_since) {
    eligible_since = now;
  }
  consider_candidacy(now);
}

election::election(identity self, election_params params, clock::time_point now)
    : s_(std::make_unique<state>(std::move(self), std::move(params), now)) {}
election::~election() = default;
election::election(election&&) noexcept = default;
election& election::operator=(election&&) noexcept = default;

void election::receive(const message& m, clock::time_point now) {
  state& s = *s_;
  if (s.stopped || m.from == s.self.address || m.uuid == s.self.uuid) return;
  if (!s.known_member(m.from) || m.legion != s.self.legion) return;
  s.last_now = std::max(s.last_now, now);
  if (m.type == message_type::dead) {
    s.release_promise_of(m.from);
    s.forget(m.from, now);
    s.housekeeping(now);
    return;
  }
  s.heard(m, now);
  switch (m.type) {
    case message_type::heartbeat:
    case message_type::renew_ack:
    case message_type::resign:
    case message_type::lease_grant:
      s.note_epoch(m.epoch);
      break;
    default:
      break;
  }
  switch (m.type) {
    case message_type::lease_request:
      s.on_lease_request(m, now);
      break;
    case message_type::lease_grant:
      s.on_lease_grant(m, now);
      break;
    case message_type::renew:
      s.on_renew(m, now);
      break;
    case message_type::renew_ack:
      s.on_renew_ack(m, now);
      break;
    case message_type::resign:
      s.on_resign(m, now);
      break;
    default:
      break;
  }
  s.housekeeping(now);
}

void election::connection_lost(const std::string& address, clock::time_point now) {
  state& s = *s_;
  if (s.stopped || !s.known_member(address)) return;
  s.last_now = std::max(s.last_now, now);
  s.release_promise_of(address);
  s.forget(address, now);
  s.housekeeping(now);
}

void election::tick(clock::time_point now) {
  state& s = *s_;
  if (s.stopped) return;
  s.last_now = std::max(s.last_now, now);
  s.housekeeping(now);
  s.send_heartbeat(now);
}

void election::shutdown(clock::time_point now) {
  state& s = *s_;
  if (s.stopped) return;
  s.last_now = std::max(s.last_now, now);
  if (s.lord) s.step_down(now, true, "shutting down");
  if (s.request) s.abandon_request();
  message d;
  d.type = message_type::dead;
  d.epoch = s.highest_epoch;
  s.send({}, std::move(d));
  s.stopped = true;
}

clock::time_point election::next_deadline() const {
  const state& s = *s_;
  clock::time_point best = s.next_heartbeat;
  auto consider = [&](clock::time_point t) {
    if (t > s.last_now && t < best) best = t;
  };
  if (s.stopped) return clock::time_point::max();
  consider(s.started + s.lease);
  consider(s.next_request);
  if (s.request) consider(s.request->sent + s.heartbeat);
  if (s.lord) {
    consider(s.next_renew);
    consider(s.lease_end - s.heartbeat);
  }
  if (s.promised) consider(s.promised->expires);
  for (const auto& [a, p] : s.peers) {
    if (p.alive && p.last_heard) consider(*p.last_heard + s.lease);
    if (p.alive && s.lord) consider(p.alive_since + s.lease);
  }
  return best;
}

std::vector<outgoing> election::take_outgoing() { return std::exchange(s_->out, {}); }
std::vector<election_event> election::take_events() { return std::exchange(s_->events, {}); }

bool election::is_lord(clock::time_point now) const {
  return s_->lord && !s_->stopped && now < s_->lease_end;
}

std::uint64_t election::epoch() const noexcept { return s_->highest_epoch; }

std::optional<clock::time_point> election::lord_since() const {
  if (!s_->lord) return std::nullopt;
  return s_->lord_since;
}

legion_view election::view(clock::time_point now) const {
  const state& s = *s_;
  legion_view v;
  v.legion = s.self.legion;
  v.address = s.self.address;
  v.uuid = s.self.uuid;
  v.valor = s.self.valor;
  v.backend = "zeromq";
  v.quorum = s.params.quorum;
  v.i_am_the_lord = is_lord(now);
  v.epoch = s.current_epoch();
  if (v.i_am_the_lord) {
    v.lord_until = s.lease_end;
    v.lord_uuid = s.self.uuid;
    v.lord_address = s.self.address;
    v.lord_valor = s.self.valor;
    v.lord_scroll = s.self.scroll;
  } else if (s.known_lord && s.known_lord->expires > now) {
    v.lord_uuid = s.known_lord->uuid;
    v.lord_address = s.known_lord->address;
    const auto it = s.peers.find(s.known_lord->address);
    if (it != s.peers.end() && it->second.uuid == v.lord_uuid) {
      v.lord_valor = it->second.valor;
      v.lord_scroll = it->second.scroll;
    }
  }
  for (const std::string& a : s.params.members) {
    const auto it = s.peers.find(a);
    if (it == s.peers.end()) continue;
    const peer& p = it->second;
    member_view m;
    m.address = a;
    m.name = p.hostname;
    m.uuid = p.uuid;
    m.valor = p.valor;
    m.pid = p.pid;
    m.scroll = p.scroll;
    m.alive = s.alive(p, now);
    m.last_seen_unix = p.last_unix_ms / 1000;
    v.members.push_back(std::move(m));
  }
  return v;
}

}  // namespace brood::legion

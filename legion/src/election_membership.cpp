// Membership (election.hpp rules): who is alive (heard within one lease), how many a member hears,
// who is eligible (hears a quorum) and which eligible member is the best candidate (highest
// valor > 0, the greater uuid on a tie, as uWSGI). Reports node_joined / node_left.
#include "election_state.hpp"

namespace brood::legion {

bool election::state::known_member(const std::string& address) const {
  return peers.find(address) != peers.end();
}

bool election::state::alive(const peer& p, clock::time_point now) const {
  return p.last_heard && now - *p.last_heard < lease;
}

void election::state::heard(const message& m, clock::time_point now) {
  peer& p = peers.at(m.from);
  if (p.alive && p.uuid != m.uuid) {
    // Another incarnation at the same address: the old one left.
    p.alive = false;
    event(hook_event::node_left, m.from);
  }
  p.uuid = m.uuid;
  p.valor = m.valor;
  p.hostname = m.hostname;
  p.pid = m.pid;
  p.scroll = m.scroll;
  p.hears = m.hears;
  p.last_unix_ms = m.unix_ms;
  p.last_heard = now;
  if (!p.alive) {
    p.alive = true;
    p.alive_since = now;
    event(hook_event::node_joined, m.from);
  }
}

void election::state::expire_peers(clock::time_point now) {
  for (auto& [address, p] : peers) {
    if (p.alive && !alive(p, now)) {
      p.alive = false;
      event(hook_event::node_left, address);
    }
  }
}

void election::state::forget(const std::string& address, clock::time_point) {
  peer& p = peers.at(address);
  p.last_heard.reset();
  p.hears = 0;
  if (p.alive) {
    p.alive = false;
    event(hook_event::node_left, address);
  }
}

std::uint32_t election::state::hears(clock::time_point now) const {
  std::uint32_t n = 1;
  for (const auto& [address, p] : peers) {
    if (alive(p, now)) ++n;
  }
  return n;
}

bool election::state::eligible_self(clock::time_point now) const {
  return hears(now) >= params.quorum;
}

std::optional<std::string> election::state::best_candidate(clock::time_point now,
                                                           bool settled) const {
  std::optional<std::string> best;
  std::int64_t best_valor = 0;
  const std::string* best_uuid = nullptr;
  auto offer = [&](const std::string& address, std::int64_t valor, const std::string& uuid) {
    if (valor <= 0) return;
    if (!best || valor > best_valor || (valor == best_valor && uuid > *best_uuid)) {
      best = address;
      best_valor = valor;
      best_uuid = &uuid;
    }
  };
  if (eligible_self(now)) offer({}, self.valor, self.uuid);
  for (const auto& [address, p] : peers) {
    if (!alive(p, now) || p.hears < params.quorum) continue;
    if (settled && now - p.alive_since < lease) continue;
    offer(address, p.valor, p.uuid);
  }
  return best;
}

}  // namespace brood::legion

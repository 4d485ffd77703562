#include "brood/router/table.hpp"

#include <algorithm>

namespace brood::router {

std::optional<algorithm> parse_algorithm(std::string_view name) noexcept {
  if (name == "wrr") return algorithm::wrr;
  if (name == "lrc") return algorithm::lrc;
  if (name == "wlrc") return algorithm::wlrc;
  return std::nullopt;
}

table::change table::apply(const wire::subscription& s, time_point now, std::int64_t wall_unix) {
  const std::string key(s.key);
  if (s.unsubscribe) {
    node_ref n = find(s.key, s.address);
    if (!n) return change::unknown_node;
    n->death_mark = true;
    ++n->failcnt;
    remove_if_done(n);
    return change::unsubscribed;
  }
  auto [it, new_key] = slots_.try_emplace(key);
  slot& sl = it->second;
  sl.key = key;
  node_ref n = find(s.key, s.address);
  const bool is_new = !n;
  if (is_new) {
    n = std::make_shared<node>();
    n->key = key;
    n->address = std::string(s.address);
    sl.nodes.push_back(n);
  }
  n->modifier1 = s.modifier1;
  n->modifier2 = s.modifier2;
  n->weight = s.weight == 0 ? 1 : s.weight;
  n->cores = s.cores;
  n->keepalive = s.keepalive;
  n->load = s.load;
  n->death_mark = false;
  n->last_seen = now;
  n->last_check_unix = wall_unix;
  if (s.unix_time) n->unix_time = s.unix_time;
  if (!is_new) return change::refreshed;
  return new_key ? change::new_key_and_node : change::new_node;
}

node_ref table::find(std::string_view key, std::string_view address) const {
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) return nullptr;
  for (const node_ref& n : it->second.nodes)
    if (n->address == address) return n;
  return nullptr;
}

node_ref table::pick(std::string_view key, time_point now) {
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) return nullptr;
  // Expiry at lookup: copy the list, remove_if_done may shrink it (and drop the slot).
  std::vector<node_ref> nodes = it->second.nodes;
  for (const node_ref& n : nodes) {
    if (!n->death_mark && now - n->last_seen > tolerance_) {
      n->death_mark = true;
      ++n->failcnt;
    }
    remove_if_done(n);
  }
  it = slots_.find(std::string(key));
  if (it == slots_.end()) return nullptr;
  slot& sl = it->second;
  node_ref chosen =
      algo_ == algorithm::wrr ? pick_wrr(sl) : pick_least(sl, algo_ == algorithm::wlrc);
  if (!chosen) return nullptr;
  ++sl.hits;
  ++chosen->references;
  ++chosen->requests;
  return chosen;
}

// Every live node serves weight / min_weight picks per round (the one with the most left goes
// first); a new round starts when no live node has any left.
node_ref table::pick_wrr(slot& s) {
  std::uint64_t min_weight = 0;
  for (const node_ref& n : s.nodes)
    if (!n->death_mark && (min_weight == 0 || n->weight < min_weight)) min_weight = n->weight;
  if (min_weight == 0) return nullptr;
  auto best = [&]() -> node_ref {
    node_ref b;
    for (const node_ref& n : s.nodes)
      if (!n->death_mark && n->wrr > 0 && (!b || n->wrr > b->wrr)) b = n;
    return b;
  };
  node_ref chosen = best();
  if (!chosen) {
    for (const node_ref& n : s.nodes)
      if (!n->death_mark) n->wrr = n->weight / min_weight;
    chosen = best();
  }
  if (chosen) --chosen->wrr;
  return chosen;
}

// lrc: the fewest requests in flight; wlrc: the fewest per unit of weight. Ties: the first.
node_ref table::pick_least(slot& s, bool weighted) {
  node_ref chosen;
  for (const node_ref& n : s.nodes) {
    if (n->death_mark) continue;
    if (!chosen) {
      chosen = n;
      continue;
    }
    // a/wa < b/wb  <=>  a*wb < b*wa (weights >= 1)
    const bool less = weighted ? n->references * chosen->weight < chosen->references * n->weight
                               : n->references < chosen->references;
    if (less) chosen = n;
  }
  return chosen;
}

void table::release(const node_ref& n) {
  if (!n) return;
  if (n->references > 0) --n->references;
  remove_if_done(n);
}

void table::mark_failed(const node_ref& n) {
  if (!n) return;
  n->death_mark = true;
  ++n->failcnt;
}

void table::remove_if_done(const node_ref& n) {
  if (!n->death_mark || n->references > 0 || n->removed) return;
  auto it = slots_.find(n->key);
  if (it == slots_.end()) return;
  auto& nodes = it->second.nodes;
  nodes.erase(std::remove(nodes.begin(), nodes.end(), n), nodes.end());
  n->removed = true;
  if (nodes.empty()) slots_.erase(it);
}

std::size_t table::node_count() const noexcept {
  std::size_t c = 0;
  for (const auto& [k, s] : slots_) c += s.nodes.size();
  return c;
}

}  // namespace brood::router

// The placement machine's entry points (placement.hpp): events in, messages and actions out.
#include <algorithm>
#include <string_view>

#include "placement_state.hpp"

namespace brood::legion {

std::string zerg_base(const std::string& name) {
  const std::size_t at = name.find(":zerg");
  if (at == std::string::npos || at == 0) return {};
  const std::string_view rest = std::string_view(name).substr(at + 5);
  if (rest.empty()) return name.substr(0, at);
  if (rest.size() < 2 || rest[0] != ':' || rest[1] == '0') return {};
  for (char c : rest.substr(1))
    if (c < '0' || c > '9') return {};
  return name.substr(0, at);
}

placement::placement(placement_params params, placement_clock::time_point now)
    : s_(std::make_unique<state>()) {
  s_->p = std::move(params);
  s_->me.next_report = now;
}

placement::~placement() = default;
placement::placement(placement&&) noexcept = default;
placement& placement::operator=(placement&&) noexcept = default;

// The kill grace (the time a fenced member takes to kill its vassals) is spent by the member,
// before its lease ends, as far as half its lease allows; what is left of it the lord adds.
std::chrono::nanoseconds placement::state::member_grace() const {
  const auto half =
      std::chrono::duration_cast<std::chrono::nanoseconds>(p.lease * (1.0 - p.drift) / 2);
  return std::min<std::chrono::nanoseconds>(p.kill_grace, half);
}

std::chrono::nanoseconds placement::state::member_lease() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(p.lease * (1.0 - p.drift)) -
         member_grace();
}

// With the two clocks' rates within 1 / (1 - drift) of each other (the election's argument,
// docs/architecture.md §6), the member's `lease × (1 − drift)` ends in true time no later than
// the lord's `lease`; the member fences `member_grace` before that, so its vassals are dead when
// the lord's count ends.
std::chrono::nanoseconds placement::state::lord_wait() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(p.lease) +
         (std::chrono::duration_cast<std::chrono::nanoseconds>(p.kill_grace) - member_grace());
}

void placement::state::deliver(placement_message m, const std::string& to, time_point now) {
  m.from = p.self;
  if (to != p.self) {
    out.push_back({to, std::move(m)});
    return;
  }
  // To ourselves (the lord is also a member): handled at once, in order.
  if (m.kind == placement_kind::report) {
    on_report(m, now);
  } else if (m.kind == placement_kind::ack) {
    on_ack(m, now);
  } else {
    on_assign(m, now);
  }
}

void placement::lord_changed(const std::string& lord, bool i_am_lord, std::uint64_t epoch,
                             placement_clock::time_point now) {
  state& s = *s_;
  // Only a lord's epoch counts: with no lord known the election gives the highest epoch seen,
  // a failed candidacy's perhaps, above the lord it knows again next (a lord that keeps its
  // lordship, election_params::keep_lord): reports of that epoch would never reach that lord.
  if (!lord.empty()) s.me.epoch_seen = std::max(s.me.epoch_seen, epoch);
  const bool new_lord = s.me.lord != lord;
  s.me.lord = lord;
  if (i_am_lord && (!s.lord.active || s.lord.epoch != epoch)) {
    s.become_lord(epoch, now);
  } else if (!i_am_lord) {
    s.lord = {};
  }
  if (new_lord && !lord.empty()) s.send_report(now);  // the new lord hears from us at once
  s.reconcile(now);
}

void placement::set_catalog(std::vector<vassal_spec> catalog, placement_clock::time_point now) {
  state& s = *s_;
  if (!s.lord.active) return;
  std::sort(catalog.begin(), catalog.end(),
            [](const vassal_spec& a, const vassal_spec& b) { return a.name < b.name; });
  if (catalog != s.table.catalog) {
    s.table.catalog = std::move(catalog);
    s.lord.changed = true;
  }
  s.lord_step(now);
}

void placement::receive(const placement_message& m, placement_clock::time_point now) {
  state& s = *s_;
  if (m.from == s.p.self) return;
  switch (m.kind) {
    case placement_kind::report:
      s.on_report(m, now);
      break;
    case placement_kind::ack:
      s.on_ack(m, now);
      break;
    case placement_kind::assign:
      s.on_assign(m, now);
      break;
  }
  s.reconcile(now);
}

void placement::local_state(const std::string& vassal, vassal_state st,
                            placement_clock::time_point now) {
  member_side& me = s_->me;
  me.starting.erase(vassal);
  if (st == vassal_state::running) {
    me.running.insert(vassal);
    return s_->reconcile(now);
  }
  // A zerg of our assignment that stopped though we did not stop it retired on idle: it is not
  // started again (the lord drops it on our next report).
  if (st == vassal_state::stopped && !zerg_base(vassal).empty() && me.assigned.count(vassal) &&
      !me.stopping.count(vassal) && !me.killing.count(vassal))
    me.retired.insert(vassal);
  me.running.erase(vassal);
  me.stopping.erase(vassal);
  me.killing.erase(vassal);
  if (st == vassal_state::failed) {
    me.failed[vassal] = now;
    me.failed_unreported.insert(vassal);
  }
  s_->reconcile(now);
}

void placement::sos(const std::string& vassal, placement_clock::time_point) {
  member_side& me = s_->me;
  if (zerg_base(vassal).empty() && me.running.count(vassal)) me.sos.emplace(vassal, 0);
}

void placement::tick(placement_clock::time_point now) {
  state& s = *s_;
  if (now >= s.me.next_report) s.send_report(now);
  if (s.lord.active) s.lord_step(now);
  s.reconcile(now);
}

placement_clock::time_point placement::next_deadline() const {
  const state& s = *s_;
  time_point next = std::min(s.me.next_report, fence_at());  // fenced then: the kills go at once
  if (s.lord.active) next = std::min(next, s.lord_deadline());
  return next;
}

placement_clock::time_point placement::fence_at() const {
  const member_side& me = s_->me;
  if (me.lease_until > time_point{} &&
      (!me.running.empty() || !me.starting.empty() || !me.stopping.empty()))
    return me.lease_until;
  return time_point::max();
}

// A lost member's vassals are placed elsewhere the moment its lease ends by the lord's count, not
// at the next report tick; likewise a start's timeout and the end of the quiet period.
time_point placement::state::lord_deadline() const {
  time_point next = time_point::max();
  if (lord.quiet) return lord.quiet_until;
  for (const auto& [m, rec] : lord.members) {
    if (rec.lease_deadline <= time_point{}) continue;
    bool holds = false;
    for (const auto& [vassal, where] : table.placed)
      if (std::find(where.begin(), where.end(), m) != where.end()) holds = true;
    if (holds) next = std::min(next, rec.lease_deadline);
  }
  for (const auto& [key, until] : lord.pending) next = std::min(next, until);
  return next;
}

std::vector<placement_outgoing> placement::take_outgoing() { return std::exchange(s_->out, {}); }

std::vector<placement_action> placement::take_actions() { return std::exchange(s_->actions, {}); }
std::vector<std::string> placement::take_decisions() { return std::exchange(s_->decisions, {}); }

const placement_table& placement::table() const noexcept { return s_->table; }

std::set<std::string> placement::running() const {
  std::set<std::string> all = s_->me.running;
  all.insert(s_->me.starting.begin(), s_->me.starting.end());
  return all;
}

bool placement::fenced(placement_clock::time_point now) const { return s_->is_fenced(now); }

placement_clock::time_point placement::lease_until() const { return s_->me.lease_until; }

}  // namespace brood::legion

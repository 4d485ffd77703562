#include "etcd_member.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "brood/os/log.hpp"

namespace brood::legion::etcd {
namespace {

constexpr double drift = 0.05;
constexpr auto failure_log_every = std::chrono::seconds(10);

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string hex(std::int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string identity_to_json(const identity& id) {
  return nlohmann::json{{"address", id.address},   {"uuid", id.uuid}, {"valor", id.valor},
                        {"hostname", id.hostname}, {"pid", id.pid},   {"scroll", id.scroll}}
      .dump();
}

bool identity_from_json(const std::string& text, member_view& out) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("address") || !j["address"].is_string() ||
      !j.contains("uuid") || !j["uuid"].is_string() || !j.contains("valor") ||
      !j["valor"].is_number_integer())
    return false;
  out.address = j["address"];
  out.uuid = j["uuid"];
  out.valor = j["valor"];
  out.name = j.value("hostname", std::string());
  out.pid = j.value("pid", std::int64_t{0});
  out.scroll = j.value("scroll", std::string());
  return true;
}

member::member(const legion_config& c, const timing& t, client& cl, identity self)
    : cfg_(c),
      times_(t),
      self_(std::move(self)),
      identity_json_(identity_to_json(self_)),
      members_prefix_("brood/legion/" + c.name + "/members/"),
      election_("brood/legion/" + c.name + "/lord"),
      client_(cl),
      kv_(cl, milliseconds(0)),
      call_timeout_(std::clamp(t.heartbeat * 3, milliseconds(200), milliseconds(1000))) {
  kv_.set_timeout(call_timeout_);
  for (const endpoint& e : c.members())
    if (e.text() != self_.address) members_[e.text()].view.address = e.text();
  publish();
}

void member::emit(hook_event e, const std::string& who) {
  changed_ = true;
  publish();
  if (sink_) sink_({e, who, epoch_});
}

bool member::answered(const reply& r, const char* what) {
  if (r.ok) {
    if (failing_) os::log("legion '", cfg_.name, "': etcd answers again (", client_.current(), ")");
    failing_ = false;
    return true;
  }
  const auto now = clock::now();
  if (!failing_ || now - last_failure_log_ >= failure_log_every) {
    os::log("legion '", cfg_.name, "': etcd ", what, " failed: ", r.error);
    last_failure_log_ = now;
  }
  failing_ = true;
  return false;
}

void member::limit_timeout() {
  milliseconds t = call_timeout_;
  if (lord_) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(lease_end_ - times_.heartbeat - clock::now());
    t = std::clamp(left, milliseconds(1), call_timeout_);
  }
  kv_.set_timeout(t);
}

milliseconds member::budget(milliseconds cap) const {
  if (!lord_) return cap;
  const auto left =
      std::chrono::duration_cast<milliseconds>(lease_end_ - times_.heartbeat - clock::now());
  return std::clamp(left, milliseconds(1), cap);
}

void member::step_down(const char* why) {
  if (!lord_) return;
  os::log("legion '", cfg_.name, "': no longer lord (epoch ", epoch_, "): ", why);
  lord_ = false;
  lord_since_ms_ = 0;
  emit(hook_event::unlord);
}

void member::lose_lease(const char* why) {
  step_down(why);
  if (lease_ != 0) stale_leases_.push_back(lease_);
  lease_ = 0;
  registered_ = false;
  candidacy_.reset();
  leader_.reset();
  leader_view_ = {};
  changed_ = true;
}

bool member::renew(clock::time_point now) {
  limit_timeout();
  if (lease_ == 0) {
    const std::int64_t want = std::max<std::int64_t>(
        1, (times_.lease.count() + 999) / 1000);  // whole seconds, rounded up
    std::int64_t id = 0, granted = 0;
    if (!answered(kv_.grant(want, id, granted), "lease grant")) return false;
    lease_ = id;
    ttl_s_ = granted;
    lease_end_ = now + std::chrono::duration_cast<clock::duration>(std::chrono::seconds(granted) *
                                                                   (1.0 - drift));
    return true;
  }
  const auto sent = clock::now();
  std::int64_t ttl = 0;
  const reply r = kv_.keepalive(lease_, ttl);
  if (r.ok && ttl > 0) {
    answered(r, "keepalive");
    ttl_s_ = ttl;
    lease_end_ = sent + std::chrono::duration_cast<clock::duration>(std::chrono::seconds(ttl) *
                                                                    (1.0 - drift));
    if (lord_) {  // a renewed deadline for the workers' i_am_the_lord
      changed_ = true;
      publish();
    }
  } else if (r.ok || (!r.transport && r.code == not_found)) {
    answered(r, "keepalive");
    os::log("legion '", cfg_.name, "': lease ", hex(lease_), " expired in etcd");
    lose_lease("the lease expired in etcd");
    return false;
  } else if (!answered(r, "keepalive")) {
    if (clock::now() + times_.heartbeat >= lease_end_) lose_lease("cannot renew the lease");
    return false;
  }
  return true;
}

bool member::registered() {
  if (registered_) return true;
  if (!answered(kv_.put(members_prefix_ + self_.address, identity_json_, lease_), "register"))
    return false;
  registered_ = true;
  settled_ = clock::now() + times_.lease / 2;
  emit(hook_event::join);
  return true;
}

bool member::read_members() {
  std::vector<key_value> kvs;
  limit_timeout();
  if (!answered(kv_.range_prefix(members_prefix_, kvs), "members")) return false;
  std::set<std::string> now_alive;
  for (const key_value& k : kvs) {
    member_view v;
    if (!identity_from_json(k.value, v) || v.address == self_.address) continue;
    now_alive.insert(v.address);
    seen& s = members_[v.address];
    v.alive = true;
    v.last_seen_unix = unix_ms() / 1000;
    const bool joined = !s.alive;
    if (joined || s.view.uuid != v.uuid) changed_ = true;
    s.view = v;
    s.alive = true;
    if (joined) emit(hook_event::node_joined, v.address);
  }
  for (auto& [address, s] : members_) {
    if (!s.alive || now_alive.count(address)) continue;
    s.alive = false;
    s.view.alive = false;
    emit(hook_event::node_left, address);
  }
  return true;
}

bool member::eligible() const {
  if (!cfg_.quorum) return true;  // etcd's own quorum decides
  std::size_t alive = 1;
  for (const auto& [address, s] : members_) alive += s.alive ? 1 : 0;
  return alive >= *cfg_.quorum;
}

bool member::best_is_me() const {
  if (self_.valor <= 0) return false;
  for (const auto& [address, s] : members_) {
    if (!s.alive || s.view.valor <= 0) continue;
    if (s.view.valor > self_.valor || (s.view.valor == self_.valor && s.view.uuid > self_.uuid))
      return false;
  }
  return true;
}

bool member::campaign() {
  // Half a lease after registering: members that started with this one are seen by then, so
  // the first lord is the best of them rather than the quickest.
  if (clock::now() < settled_) return true;
  const bool want = eligible() && best_is_me();
  limit_timeout();
  if (want && !candidacy_) {
    key_value k;
    const std::string key = election_ + "/" + hex(lease_);
    if (!answered(kv_.create(key, identity_json_, lease_, k), "campaign")) return false;
    if (k.lease == lease_) candidacy_ = k;
  } else if (!want && candidacy_) {
    step_down("a better member is alive, or too few members are");
    if (!answered(kv_.resign(election_, *candidacy_), "resign")) return false;
    candidacy_.reset();
  }
  return true;
}

bool member::follow_leader() {
  std::optional<key_value> l;
  limit_timeout();
  if (!answered(kv_.leader(election_, l), "leader")) return false;
  // A campaign whose answer timed out here while etcd applied it left a key on our lease that
  // we do not know: adopted, so that it is resigned when we should not lead (otherwise it would
  // stay the leader, unknown to all, for as long as our lease lives: no lord at all).
  if (l && !candidacy_ && lease_ != 0 && l->lease == lease_) candidacy_ = l;
  const bool mine = l && candidacy_ && l->key == candidacy_->key;
  if (l) epoch_ = std::max(epoch_, static_cast<std::uint64_t>(l->create_revision));
  if ((l ? l->key : "") != (leader_ ? leader_->key : "")) {
    changed_ = true;
    leader_view_ = {};
    if (l && !identity_from_json(l->value, leader_view_))
      os::log("legion '", cfg_.name, "': the leader key holds no member identity");
  }
  leader_before_ = leader_ ? leader_->key : std::string();
  leader_ = l;
  if (mine && !lord_ && clock::now() + times_.heartbeat < lease_end_) {
    lord_ = true;
    lord_since_ms_ = unix_ms();
    emit(hook_event::lord);
  } else if (!mine && lord_) {
    step_down("another member holds the leader key");
    candidacy_.reset();
  }
  return true;
}

void member::tick(clock::time_point now) {
  limit_timeout();
  for (auto it = stale_leases_.begin(); it != stale_leases_.end();) {
    const reply r = kv_.revoke(*it);
    if (!r.ok && r.transport) break;
    it = stale_leases_.erase(it);
  }
  if (renew(now) && registered() && read_members() && campaign()) follow_leader();
  check_lease(clock::now());
  publish();
}

void member::check_lease(clock::time_point now) {
  if (lord_ && now + times_.heartbeat >= lease_end_) lose_lease("cannot renew the lease");
}

clock::time_point member::deadline() const {
  return lord_ ? lease_end_ - times_.heartbeat : clock::time_point::max();
}

bool member::peer_closed(const std::string& address) {
  if (!leader_ || leader_view_.address != address || leader_before_ != leader_->key) return false;
  if (candidacy_ && candidacy_->key == leader_->key) return false;
  os::log("legion '", cfg_.name, "': the lord at ", address,
          " closed its connection: revoking its lease ", hex(leader_->lease));
  kv_.set_timeout(call_timeout_);
  const reply r = kv_.revoke(leader_->lease);
  if (!r.ok && r.transport) return false;
  leader_before_.clear();
  return true;
}

void member::shutdown(milliseconds budget) {
  step_down("shutting down");
  // Revoking the lease deletes the candidacy and the member key with it.
  if (lease_ != 0) stale_leases_.insert(stale_leases_.begin(), lease_);
  const auto end = clock::now() + budget;
  for (const std::int64_t id : stale_leases_) {
    const auto left = std::chrono::duration_cast<milliseconds>(end - clock::now());
    if (left <= milliseconds(0)) break;
    kv_.set_timeout(left);
    if (const reply r = kv_.revoke(id); !r.ok && r.transport) break;
  }
  stale_leases_.clear();
  lease_ = 0;
  registered_ = false;
  candidacy_.reset();
  publish();
}

void member::publish() {
  legion_view v;
  v.legion = cfg_.name;
  v.address = self_.address;
  v.uuid = self_.uuid;
  v.valor = self_.valor;
  v.scroll = self_.scroll;
  v.backend = "etcd";
  v.quorum = cfg_.quorum ? *cfg_.quorum : 1;
  v.i_am_the_lord = lord_;
  if (lord_) v.lord_until = lease_end_ - times_.heartbeat;  // when tick() would step down
  v.epoch = epoch_;
  if (leader_) {
    v.lord_uuid = leader_view_.uuid;
    v.lord_address = leader_view_.address;
    v.lord_valor = leader_view_.valor;
    v.lord_scroll = leader_view_.scroll;
  }
  v.lord_since_unix_ms = lord_ ? lord_since_ms_ : 0;
  for (const auto& [address, s] : members_) v.members.push_back(s.view);
  std::lock_guard lock(mutex_);
  view_ = std::move(v);
}

legion_view member::snapshot() const {
  std::lock_guard lock(mutex_);
  return view_;
}

}  // namespace brood::legion::etcd

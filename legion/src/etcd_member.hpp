#pragma once
// One legion member electing through etcd (docs/config.md "legion-etcd"): the state the legion
// thread keeps between ticks and what one tick does. Keys, under "brood/legion/NAME":
//   members/ADDR     this member's identity (JSON) on its lease: who is alive
//   lord/LEASE_HEX   its candidacy, created only while it is the best eligible member (highest
//                    valor > 0, then greater uuid; with `legion-quorum` set, only while that
//                    many members, itself included, are alive); etcd's election API
//                    ("brood/legion/NAME/lord") names the oldest such key the leader.
// The lord is the member whose candidacy is the leader key and whose lease cannot have run out:
// it renews every heartbeat and steps down (unlord) one heartbeat before `ttl * (1 - drift)`
// after its last renewal that etcd confirmed, i.e. before etcd could expire its key. The epoch is
// the leader key's create_revision: only grows, as a newer key is always created later.
// A member that lost its lease takes a new one (and so a new candidacy, a new epoch); the old
// lease is revoked once etcd answers again. Thread: only the legion thread calls tick/shutdown;
// snapshot() is thread-safe.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "brood/legion/backend.hpp"
#include "etcd_kv.hpp"

namespace brood::legion::etcd {

class member {
 public:
  member(const legion_config& c, const timing& t, client& cl, identity self);

  // One round: renew (or take) the lease, register, read the members, campaign or withdraw,
  // read the leader. Stops early when etcd does not answer.
  void tick(clock::time_point now);
  // A lord steps down once `now` is within one heartbeat of the end of its lease; called at
  // every tick and at deadline().
  void check_lease(clock::time_point now);
  // When check_lease must run next at the latest (a lord's step-down time; else max()).
  clock::time_point deadline() const;
  // The ZeroMQ connection to the member at `address` closed (its process is gone). When it is
  // the lord, and was already at the tick before, its lease is revoked so that the next member
  // leads now rather than when etcd expires the lease. True when it did.
  bool peer_closed(const std::string& address);
  // A lord steps down; the candidacy and the lease are given back (revoked) within `budget`.
  void shutdown(milliseconds budget);
  // Where events go, at once and in order, on the calling thread (a lord's unlord is reported
  // before its candidacy is given back).
  void set_sink(std::function<void(const election_event&)> sink) { sink_ = std::move(sink); }
  // Whether the view changed since the last call.
  bool take_changed() { return std::exchange(changed_, false); }
  legion_view snapshot() const;
  bool is_lord() const { return lord_; }
  // The lord's candidacy key, the guard of its placement writes (etcd_placement.hpp); nullopt
  // when this member is not the lord.
  std::optional<key_value> lordship() const {
    return lord_ ? candidacy_ : std::optional<key_value>();
  }
  std::int64_t lease() const { return lease_; }
  // How long a call may take now: at most `cap`, and a lord's ends before it must step down.
  milliseconds budget(milliseconds cap) const;

 private:
  bool renew(clock::time_point now);
  void lose_lease(const char* why);
  bool registered();
  bool read_members();
  bool campaign();
  bool follow_leader();
  bool best_is_me() const;
  bool eligible() const;
  void step_down(const char* why);
  void emit(hook_event e, const std::string& who = {});
  bool answered(const reply& r, const char* what);  // logs failures (rate-limited)
  void limit_timeout();                             // a lord's calls end before its lease

  legion_config cfg_;
  timing times_;
  identity self_;
  std::string identity_json_;
  std::string members_prefix_, election_;
  client& client_;
  kv kv_;
  milliseconds call_timeout_;

  std::int64_t lease_ = 0;
  std::int64_t ttl_s_ = 0;
  clock::time_point lease_end_{};  // our lease cannot have ended in etcd before this
  std::vector<std::int64_t> stale_leases_;
  bool registered_ = false;
  clock::time_point settled_{};  // no candidacy before: members starting with us are not seen yet
  std::optional<key_value> candidacy_;
  bool lord_ = false;
  std::uint64_t epoch_ = 0;

  struct seen {
    member_view view;
    bool alive = false;
  };
  std::map<std::string, seen> members_;  // by address, self excluded
  std::optional<key_value> leader_;
  std::string leader_before_;  // the leader key at the tick before the last one
  member_view leader_view_;

  bool failing_ = false;
  clock::time_point last_failure_log_{};
  std::function<void(const election_event&)> sink_;
  bool changed_ = true;
  std::int64_t lord_since_ms_ = 0;

  mutable std::mutex mutex_;  // guards view_
  legion_view view_;
  void publish();
};

// The member's identity as stored in etcd (JSON text), and back.
std::string identity_to_json(const identity& id);
bool identity_from_json(const std::string& text, member_view& out);

}  // namespace brood::legion::etcd

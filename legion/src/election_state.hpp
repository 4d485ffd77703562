#pragma once
// The private state of brood::legion::election (election.hpp), shared by its parts:
// election.cpp (dispatch, heartbeats, view), election_membership.cpp (who is alive, who is the
// best candidate), election_voting.cpp (promises), election_candidacy.cpp (lease requests),
// election_lordship.cpp (renewals, stepping down). Single-threaded, pure.
#include <map>
#include <optional>
#include <set>

#include "brood/legion/election.hpp"

namespace brood::legion {

struct peer {
  std::string uuid;  // empty: never heard
  std::int64_t valor = 0;
  std::string hostname;
  std::int64_t pid = 0;
  std::string scroll;
  std::uint32_t hears = 0;
  std::int64_t last_unix_ms = 0;                // the sender's clock in its last message
  std::optional<clock::time_point> last_heard;  // empty: never, or forgotten (dead, gone)
  bool alive = false;               // as last reported by a node_joined / node_left event
  clock::time_point alive_since{};  // when it last became alive
};

// A voter's promise: no lease to anyone else before `expires`.
struct promise {
  std::string uuid;
  std::string address;
  std::uint64_t epoch = 0;
  clock::time_point expires{};
};

// A lease request or renew sent and waiting for answers.
struct pending {
  std::uint64_t ref = 0;
  std::uint64_t epoch = 0;
  clock::time_point sent{};
  std::set<std::string> granted;  // addresses, self included
  std::set<std::string> refused;
};

struct election::state {
  identity self;
  election_params params;
  clock::time_point started;
  clock::duration lease;
  clock::duration heartbeat;
  clock::duration safe_lease;  // lease * (1 - drift)
  bool stopped = false;
  clock::time_point last_now;  // the latest time fed in

  std::map<std::string, peer> peers;  // every other configured member, by address
  bool joined = false;                // the join event was reported
  std::uint64_t highest_epoch = 0;
  std::uint64_t granted_epoch = 0;  // the highest epoch this member granted (self included)
  std::optional<promise> promised;
  std::uint64_t next_ref = 1;
  clock::time_point next_heartbeat{};

  // Candidacy.
  std::optional<pending> request;
  clock::time_point next_request{};  // no new request before this

  // Lordship.
  bool lord = false;
  std::uint64_t lord_epoch = 0;
  clock::time_point lease_end{};
  clock::time_point lord_since{};
  std::vector<pending> renews;  // the recent renews, oldest first
  clock::time_point next_renew{};

  // Whom this member takes for lord when it is not (a renew it accepted).
  std::optional<promise> known_lord;
  // keep_lord: the last moment a lord was known (or this member was lord), and since when this
  // member hears a quorum without a break (empty: it does not).
  clock::time_point lord_seen{};
  std::optional<clock::time_point> eligible_since;

  std::vector<outgoing> out;
  std::vector<election_event> events;

  state(identity id, election_params p, clock::time_point now);

  // election.cpp
  void send(const std::string& to, message m);
  void event(hook_event kind, std::string member = {});
  void note_epoch(std::uint64_t e);
  void send_heartbeat(clock::time_point now);
  void housekeeping(clock::time_point now);
  std::uint64_t current_epoch() const;  // the known lord's, else the highest seen

  // election_membership.cpp
  bool known_member(const std::string& address) const;
  void heard(const message& m, clock::time_point now);
  void expire_peers(clock::time_point now);
  void forget(const std::string& address, clock::time_point now);
  bool alive(const peer& p, clock::time_point now) const;
  std::uint32_t hears(clock::time_point now) const;  // self included
  bool eligible_self(clock::time_point now) const;
  // The best candidate's address ("" for self) or nullopt when none. `settled`: only members
  // alive for at least one lease (they may grant themselves a lease by now) count.
  std::optional<std::string> best_candidate(clock::time_point now, bool settled = false) const;

  // election_voting.cpp
  bool warmed_up(clock::time_point now) const;
  bool promised_to_other(const std::string& uuid, clock::time_point now) const;
  void on_lease_request(const message& m, clock::time_point now);
  void on_renew(const message& m, clock::time_point now);
  void on_resign(const message& m, clock::time_point now);
  void release_promise_of(const std::string& address);

  // election_candidacy.cpp
  void consider_candidacy(clock::time_point now);
  void abandon_request();
  void on_lease_grant(const message& m, clock::time_point now);

  // election_lordship.cpp
  void become_lord(clock::time_point now);
  void renew_if_due(clock::time_point now);
  void on_renew_ack(const message& m, clock::time_point now);
  void check_lordship(clock::time_point now);
  void step_down(clock::time_point now, bool resign, const char* why);
};

}  // namespace brood::legion

#pragma once
// The lord election of one legion member: a pure state machine (no I/O, no clock of its own). The
// runtime (member.hpp) feeds it authenticated messages, connection losses and ticks, each with the
// time, and sends what it asks; tests drive many of them over a simulated network.
//
// The rules (docs/architecture.md §6 "Legion"):
// - Members are the configured addresses. Each announces a heartbeat every `heartbeat`; a member
//   is alive while its last message is younger than `lease`. `hears` counts the alive members a
//   member hears, itself included; a member is eligible when it hears a quorum.
// - The best candidate is the eligible alive member with the highest valor > 0, the
//   lexicographically greater uuid breaking ties (uWSGI's rule). Valor 0 is an arbiter.
// - A member that holds no unexpired promise to another member, has run for one `lease` and sees
//   itself as the best candidate promises itself and sends lease_request with epoch = highest
//   epoch seen + 1 and a fresh `ref` (the election's counter; a request unanswered for a
//   heartbeat is dropped, one a best candidate gives up is resigned). A voter grants when it holds
//   no unexpired promise to another member, the epoch is above every epoch it granted, and it has
//   run for at least one `lease` (a restarted voter may have forgotten a promise); granting records
//   a promise to (uuid, epoch) that expires `lease` after the voter received the request.
// - The candidate becomes lord when grants from a quorum (itself included) answer the same
//   request. Its lease ends `lease * (1 - drift)` after it SENT that request (before any voter
//   received it), so it ends before every voter's promise. The lord sends renew every heartbeat;
//   a voter holding the promise for (uuid, epoch) extends it to receive time + lease and acks (a
//   promise that merely expired is taken up again while no higher epoch was granted since, and a
//   free voter takes a renew as it would take a request); the
//   lord's lease then ends `lease * (1 - drift)` after it sent the last renew a quorum acked.
// - A lord steps down (event unlord) when its lease would end within one heartbeat, when another
//   member renews a higher epoch, or when a better candidate has been alive and eligible for one
//   lease (it sends resign; not with `keep_lord`, under which a better member does not run for
//   lord either while a lord's renews reach it). A voter releases its promise at expiry, on resign
//   or dead from its holder, or when its holder's connection closes (its process is gone: a
//   SIGKILLed lord is replaced at once).
// - Safety: two members never hold a lease at overlapping times (any two quorums share a voter,
//   and a voter promises one member at a time). Epochs only grow; every lord event carries one.
// - Stale, duplicated or reordered messages are harmless: answers count only for the current
//   request/renew (`ref`), and requests/renews only lengthen promises.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brood/legion/config.hpp"
#include "brood/legion/message.hpp"
#include "brood/legion/view.hpp"

namespace brood::legion {

using clock = std::chrono::steady_clock;

// Who this member is, fixed for its lifetime.
struct identity {
  std::string legion;
  std::string address;  // endpoint::text() of the configured address
  std::string uuid;     // 36 chars, random per start
  std::int64_t valor = 0;
  std::string hostname;
  std::int64_t pid = 0;
  std::string scroll;
};

struct election_params {
  std::vector<std::string> members;  // every configured address, self included
  std::size_t quorum = 1;
  timing times;
  double drift = 0.05;  // the clock-rate difference the lease tolerates
  // A lord keeps its lordship while its lease holds: a better member neither makes it step down
  // nor runs for lord while it hears a lord's renews (a legion with placement: every lord change
  // costs a quiet period, so a member that comes back from a cut does not take over by valor).
  bool keep_lord = false;
};

// A message to send: to one member (`to` = its address) or to every other member (`to` empty).
// The runtime fills the envelope (seq, unix_ms, from, uuid, legion, valor, hostname, pid, scroll).
struct outgoing {
  std::string to;
  message msg;
};

// What the hooks and the owner must hear about, in order.
struct election_event {
  hook_event kind;      // lord, unlord, join, node_joined, node_left (setup/death: the runtime)
  std::string member;   // node_joined/node_left: the member's address
  std::uint64_t epoch;  // the epoch current when the event happened
  std::string why{};    // unlord: why this member stopped being lord (logged)
};

class election {
 public:
  election(identity self, election_params params, clock::time_point now);
  ~election();
  election(election&&) noexcept;
  election& operator=(election&&) noexcept;

  // An authenticated message from another member (the runtime dropped replays, other legions,
  // our own echoes and skewed clocks before).
  void receive(const message& m, clock::time_point now);
  // The connection to `address` was closed by its peer (its process is gone).
  void connection_lost(const std::string& address, clock::time_point now);
  // Time passes: expiries, heartbeats, renewals, candidacy.
  void tick(clock::time_point now);
  // Stops acting: a lord resigns (unlord event), every member is told `dead`.
  void shutdown(clock::time_point now);

  // When tick must run next at the latest.
  clock::time_point next_deadline() const;
  std::vector<outgoing> take_outgoing();
  std::vector<election_event> take_events();

  // True while this member holds a lease that has not ended at `now`.
  bool is_lord(clock::time_point now) const;
  std::uint64_t epoch() const noexcept;  // the highest epoch seen
  // When this member became lord (it is lord now; else empty). The election has no wall clock:
  // the runtime turns this into view().lord_since_unix_ms, which view() leaves 0.
  std::optional<clock::time_point> lord_since() const;
  // The view for stats, the Python API and `brood legion` (its `lord` is the member whose lease
  // or promise is current, as far as this member knows).
  legion_view view(clock::time_point now) const;

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace brood::legion

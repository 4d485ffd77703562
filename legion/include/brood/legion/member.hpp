#pragma once
// The legions of one process (a node master or an emperor): each legion runs on a thread of its
// own (as uWSGI's legion thread), so a busy owner never delays a heartbeat or a renewal. The
// ZeroMQ backend binds a ROUTER at the member's address, keeps one DEALER per other member
// (ZMQ_IMMEDIATE, never blocking: a message to an unreachable member is dropped), watches the
// DEALERs' connections (a peer that closes is reported to the election as connection_lost),
// drops unauthenticated, replayed (seq), foreign or skewed messages with a rate-limited log line,
// and answers `query` with its view. The etcd backend (etcd_election.hpp) replaces the election
// and the transport, with the same hooks, views and events.
//
// Hooks (`legion-lord` ...) run in order on a hook thread, never on the election's: `cmd:`/`exec:`
// through /bin/sh -c with BROOD_LEGION (name), BROOD_LEGION_EVENT, BROOD_LEGION_EPOCH and
// BROOD_LEGION_NODE (node-joined/left) in their environment, their children reaped by the
// runner (a double fork: an owner's waitpid(-1) never sees them); `log:` a log line; `signal:N`
// the owner's signal callback. `legion-attach-daemon` commands run while this member is lord
// (started on lord, respawned if they die while lord, SIGTERM then SIGKILL after 3 s on unlord or
// shutdown).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "brood/legion/config.hpp"
#include "brood/legion/view.hpp"

namespace brood::legion {

class shared_views;      // shared_views.hpp
class placement_runner;  // placement_runner.hpp

struct member_hooks {
  // `signal:N` hooks (node: raise uwsgi signal N; emperor: unset, the hook is logged). Called on
  // the hook thread.
  std::function<void(int signum)> raise_signal;
  // Every lord/unlord change, on the hook thread after the hooks of that event ran (the emperor's
  // placement, the next issue, listens here).
  std::function<void(const std::string& legion, bool lord, std::uint64_t epoch)> on_lord_change;
};

class members {
 public:
  // Starts every legion of `c`: binds (ZeroMQ) or connects (etcd), runs the `setup` hooks, starts
  // the threads. Error (nothing left running): one line naming the legion and what failed
  // ("legion 'web': cannot bind 127.0.0.1:4000: Address already in use").
  // `views` (optional) is written on every change, for workers forked later.
  // `placements`: the placement each names a legion to run (emperor = legion:NAME,DIR), on that
  // legion's thread; error for an unknown legion or one with legion-etcd. They must outlive this.
  static std::unique_ptr<members> start(const config& c, member_hooks hooks, shared_views* views,
                                        std::string& error,
                                        const std::vector<placement_runner*>& placements = {});
  // Shutdown: a lord resigns (unlord hooks), `dead` is announced, death hooks run, attach daemons
  // stop, threads joined. Bounded by one second plus the daemons' stop.
  ~members();

  // Thread-safe snapshots.
  std::vector<legion_view> views() const;
  bool i_am_the_lord(const std::string& legion) const;  // false for an unknown legion
  std::uint64_t epoch(const std::string& legion) const;

 private:
  members() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace brood::legion

#pragma once
// A simulated legion for placement.hpp: N members, each a placement machine and an owner that
// starts/stops vassals after a delay, a network with delays, losses and cuts, and an election
// oracle that replaces a cut lord as the real election would (the old lord steps down when its
// lease ends; a member that hears a quorum becomes lord with the next epoch a little later).
// Time advances in 1 ms steps. After every step `check` looks for a vassal running (started and
// not yet reported stopped) on more members than its replicas outside a hand-over.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "brood/legion/placement.hpp"

namespace brood::legion::sim {

// The timings the placement tests run with: reports every 100 ms, 1 s leases.
inline placement_params test_params() {
  using namespace std::chrono_literals;
  placement_params p;
  p.report_every = 100ms;
  p.lease = 1000ms;
  p.kill_grace = 200ms;
  p.start_timeout = 2000ms;
  p.failure_memory = 10000ms;
  return p;
}

using namespace std::chrono_literals;
using tp = placement_clock::time_point;

struct in_flight {
  tp at;
  std::string to;
  placement_message msg;
};

struct pending_owner {
  tp at;
  std::string vassal;
  vassal_state state;
};

struct node {
  std::string address;
  placement machine;
  bool cut = false;
  bool i_am_lord = false;
  std::string lord;
  std::set<std::string> failing;              // vassals whose start fails here
  std::chrono::milliseconds start_delay{-1};  // >= 0: this member's, instead of the cluster's
  std::map<std::string, int> up;              // vassal -> 1 while started and not reported stopped
  std::vector<pending_owner> owner;
  int starts = 0;
};

class cluster {
 public:
  cluster(std::size_t n, std::uint32_t seed, placement_params base,
          std::vector<std::uint32_t> capacities = {})
      : rng_(seed) {
    for (std::size_t i = 0; i < n; ++i) addresses_.push_back("m" + std::to_string(i + 1));
    base.members = addresses_;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& a = addresses_[i];
      placement_params p = base;
      p.self = a;
      if (i < capacities.size()) p.capacity = capacities[i];
      nodes_.push_back(node{a, placement(p, now_)});
    }
  }

  tp now() const { return now_; }
  node& at(std::size_t i) { return nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }
  double loss = 0.0;
  std::chrono::milliseconds start_delay = 5ms, stop_delay = 20ms, kill_delay = 1ms;
  bool strict = true;  // no overlap allowed even in a hand-over
  std::chrono::milliseconds handover_allowance = 30ms;
  // As ZeroMQ does: a message sent from or to a cut member is not lost but held, and delivered
  // once both ends are reachable again (after the heal), in order.
  bool hold_during_cuts = false;
  std::vector<std::string> violations;
  std::vector<std::pair<std::string, placement_action>> stops;  // (member, stop action)
  std::vector<std::pair<std::string, placement_action>> kills;  // (member, kill action)

  // Makes member i lord with the next epoch; every reachable member hears of it.
  void elect(std::size_t i) {
    ++epoch_;
    for (node& n : nodes_) {
      n.i_am_lord = false;
      if (&n == &nodes_[i] || (!n.cut && !nodes_[i].cut))
        tell(n, nodes_[i].address, &n == &nodes_[i]);
    }
    lord_ = i;
    nodes_[i].machine.set_catalog(catalog, now_);
  }
  void step_down(std::size_t i) { tell(nodes_[i], "", false); }
  // Tells the members that can reach the lord who it is (after a heal).
  void announce() {
    for (node& n : nodes_)
      if (!n.cut && !nodes_[lord_].cut && n.lord != nodes_[lord_].address)
        tell(n, nodes_[lord_].address, &n == &nodes_[lord_]);
  }
  std::size_t lord() const { return lord_; }
  // Member i's vassal asks for reinforcements.
  void sos(std::size_t i, const std::string& vassal) {
    nodes_[i].machine.sos(vassal, now_);
    drain(nodes_[i]);
  }
  // Member i's vassal stops by itself (a zerg retiring on idle).
  void retire(std::size_t i, const std::string& vassal) {
    nodes_[i].owner.push_back({now_, vassal, vassal_state::stopped});
  }
  std::size_t index_of(const std::string& address) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].address == address) return i;
    return nodes_.size();
  }
  std::vector<vassal_spec> catalog;
  void set_catalog(std::vector<vassal_spec> c) {
    catalog = std::move(c);
    nodes_[lord_].machine.set_catalog(catalog, now_);
  }

  void run_for(std::chrono::milliseconds d) {
    const tp end = now_ + d;
    while (now_ < end) step();
  }
  template <class F>
  bool run_until(F done, std::chrono::milliseconds limit) {
    const tp end = now_ + limit;
    while (now_ < end) {
      if (done()) return true;
      step();
    }
    return done();
  }

  // vassal -> members running it now
  std::map<std::string, std::vector<std::string>> where() const {
    std::map<std::string, std::vector<std::string>> w;
    for (const node& n : nodes_)
      for (const auto& [v, up] : n.up)
        if (up) w[v].push_back(n.address);
    return w;
  }
  int total_starts() const {
    int s = 0;
    for (const node& n : nodes_) s += n.starts;
    return s;
  }

 private:
  void tell(node& n, const std::string& lord, bool me) {
    n.lord = lord;
    n.i_am_lord = me;
    n.machine.lord_changed(lord, me, epoch_, now_);
    drain(n);
  }

  void step() {
    now_ += 1ms;
    std::vector<in_flight> due;
    for (auto it = net_.begin(); it != net_.end();) {
      if (it->at <= now_ && hold_during_cuts &&
          (by_address(it->to).cut || by_address(it->msg.from).cut)) {
        it->at = now_ + 1ms;  // held: delivered after the heal
        ++it;
      } else if (it->at <= now_) {
        due.push_back(std::move(*it));
        it = net_.erase(it);
      } else {
        ++it;
      }
    }
    for (in_flight& f : due) {
      node& n = by_address(f.to);
      if (std::getenv("BROOD_SIM_TRACE")) trace_msg(f);
      n.machine.receive(f.msg, now_);
      drain(n);
    }
    for (node& n : nodes_) {
      for (auto it = n.owner.begin(); it != n.owner.end();) {
        if (it->at > now_) {
          ++it;
          continue;
        }
        const pending_owner po = *it;
        it = n.owner.erase(it);
        if (po.state != vassal_state::running) n.up[po.vassal] = 0;
        n.machine.local_state(po.vassal, po.state, now_);
        drain(n);
        it = n.owner.begin();
      }
      if (now_ >= n.machine.next_deadline()) {
        n.machine.tick(now_);
        drain(n);
      }
    }
    check();
  }

  void drain(node& n) {
    for (placement_outgoing& o : n.machine.take_outgoing()) {
      node& to = by_address(o.to);
      if ((n.cut || to.cut) && !hold_during_cuts) continue;
      if (std::uniform_real_distribution<>(0, 1)(rng_) < loss) continue;
      auto delay = std::chrono::microseconds(std::uniform_int_distribution<>(200, 3000)(rng_));
      // In order per pair, as over one connection: never before an earlier message to `to`.
      if (hold_during_cuts)
        for (const in_flight& f : net_)
          if (f.to == o.to && f.msg.from == n.address && f.at > now_ + delay)
            delay = std::chrono::duration_cast<std::chrono::microseconds>(f.at - now_);
      net_.push_back({now_ + delay, o.to, std::move(o.msg)});
    }
    for (const placement_action& a : n.machine.take_actions()) {
      if (std::getenv("BROOD_SIM_TRACE"))
        std::fprintf(stderr, "%lld %s action %d %s\n",
                     static_cast<long long>((now_ - tp{}).count() / 1000000), n.address.c_str(),
                     static_cast<int>(a.what), a.vassal.c_str());
      switch (a.what) {
        case placement_action::kind::start:
          check_start(n, a.vassal);
          n.up[a.vassal] = 1;
          ++n.starts;
          n.owner.push_back(
              {now_ + (n.start_delay >= 0ms ? n.start_delay : start_delay), a.vassal,
               n.failing.count(a.vassal) ? vassal_state::failed : vassal_state::running});
          break;
        case placement_action::kind::stop:
          stops.push_back({n.address, a});
          n.owner.push_back({now_ + stop_delay, a.vassal, vassal_state::stopped});
          break;
        case placement_action::kind::kill:
          kills.push_back({n.address, a});
          n.owner.push_back({now_ + kill_delay, a.vassal, vassal_state::stopped});
          break;
      }
    }
  }

  std::uint32_t replicas_of(const std::string& v) const {
    std::uint32_t replicas = 1;
    for (const vassal_spec& s : catalog)
      if (s.name == v) replicas = std::max<std::uint32_t>(1, s.replicas);
    return replicas;
  }

  // A copy starts beside `replicas` running ones only in a hand-over whose old member knows of it
  // (it adopted the table that shows the vassal leaving it): that member then stops its copy when
  // it hears the new one runs, or kills it when fenced, and says so (handed_to).
  void check_start(const node& n, const std::string& v) {
    std::uint32_t others = 0;
    bool known = false;
    std::string who;
    for (const node& o : nodes_) {
      auto up = o.up.find(v);
      if (&o == &n || up == o.up.end() || !up->second) continue;
      ++others;
      who += " " + o.address;
      auto l = o.machine.table().leaving.find(v);
      if (l != o.machine.table().leaving.end() && l->second == o.address) known = true;
    }
    if (others >= replicas_of(v) && !known)
      violations.push_back(v + " started on " + n.address + " beside" + who +
                           " with no hand-over its old member knows of, at " +
                           std::to_string((now_ - tp{}).count() / 1000000) + " ms");
  }

  // A hand-over's old copy stops once the new one runs: its stop may take stop_delay plus the
  // push's flight after the lord's table dropped it, or, when its member was cut meanwhile, until
  // that member's lease ends (lord_wait).
  void check() {
    for (const auto& [v, from] : nodes_[lord_].machine.table().leaving) handover_[v] = now_;
    for (const auto& [v, members] : where()) {
      if (members.size() <= replicas_of(v)) continue;
      auto h = handover_.find(v);
      if (!strict && h != handover_.end() && now_ - h->second <= handover_allowance) continue;
      std::string who;
      for (const std::string& m : members) who += " " + m + (by_address(m).cut ? "(cut)" : "");
      if (h != handover_.end())
        who +=
            " last hand-over " + std::to_string((now_ - h->second).count() / 1000000) + " ms ago";
      violations.push_back(v + " on" + who + " at " +
                           std::to_string((now_ - tp{}).count() / 1000000) + " ms");
    }
  }

  void trace_msg(const in_flight& f) {
    std::string as;
    for (const std::string& v : f.msg.assigned) as += v + ",";
    std::string run;
    for (const std::string& v : f.msg.running) run += v + ",";
    std::fprintf(
        stderr, "%lld %s->%s kind %d epoch %llu ref %llu version %llu assigned %s running %s\n",
        static_cast<long long>((now_ - tp{}).count() / 1000000), f.msg.from.c_str(), f.to.c_str(),
        static_cast<int>(f.msg.kind), static_cast<unsigned long long>(f.msg.epoch),
        static_cast<unsigned long long>(f.msg.ref), static_cast<unsigned long long>(f.msg.version),
        as.c_str(), run.c_str());
  }

  node& by_address(const std::string& a) {
    for (node& n : nodes_)
      if (n.address == a) return n;
    return nodes_.front();
  }

  std::mt19937 rng_;
  tp now_{};
  std::vector<std::string> addresses_;
  std::vector<node> nodes_;
  std::vector<in_flight> net_;
  std::uint64_t epoch_ = 0;
  std::size_t lord_ = 0;
  std::map<std::string, tp> handover_;
};

}  // namespace brood::legion::sim

#pragma once
// A simulated legion for election tests: N brood::legion::election members over a fake network
// with per-message delays, drops, duplicates (and so reordering), cut links, crashes and restarts,
// each member on its own clock running at its own rate. Time is the simulator's "true" time; a
// member only ever sees its local clock. After every call into a member the simulator checks that
// no two members are lord at the same true time (an overlap always begins at some member's call,
// where it is seen). Deterministic for a given seed. Header-only (tests/legion globs *_test.cpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "brood/legion/election.hpp"

namespace brood::legion::testing {

using nanos = std::chrono::nanoseconds;
using ms = std::chrono::milliseconds;

struct sim_options {
  std::size_t members = 3;
  std::vector<std::int64_t> valors;  // empty: members - i (member 0 the best)
  std::size_t quorum = 0;            // 0: majority
  timing times{ms(100), ms(400), ms(60000)};
  double drift = 0.05;
  std::vector<double> rates;  // each member's clock rate (empty: all 1.0)
  nanos delay_min = ms(1);
  nanos delay_max = ms(1);
  double drop = 0.0;       // probability a message is lost
  double duplicate = 0.0;  // probability a message is delivered twice
  double straggle = 0.0;   // probability a message is delayed up to straggle_max
  nanos straggle_max = ms(300);
  std::uint64_t seed = 1;
  bool keep_lord = false;  // election_params::keep_lord
};

struct sim_event {
  nanos at;  // true time since the start
  std::size_t member;
  election_event ev;
};

class sim {
 public:
  explicit sim(sim_options o) : o_(std::move(o)), rng_(o_.seed) {
    const std::size_t n = o_.members;
    if (o_.quorum == 0) o_.quorum = n / 2 + 1;
    for (std::size_t i = 0; i < n; ++i) {
      addresses_.push_back("10.0.0." + std::to_string(i + 1) + ":4000");
    }
    link_.assign(n, std::vector<bool>(n, true));
    nodes_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      nodes_[i].rate = o_.rates.empty() ? 1.0 : o_.rates[i];
      nodes_[i].origin = clock::time_point(std::chrono::hours(1000 + 24 * i));
      start(i);
    }
  }

  // Runs every delivery and tick due up to true time `until`.
  void run_until(nanos until) {
    for (;;) {
      nanos next = until;
      int kind = 0;  // 0: stop, 1: delivery, 2: tick of member `who`
      std::size_t who = 0;
      if (!queue_.empty() && queue_.top().at <= next) next = queue_.top().at, kind = 1;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i].e) continue;
        const nanos t = true_time(i, nodes_[i].e->next_deadline());
        if (t < next || (t == next && kind == 0)) next = t, kind = 2, who = i;
      }
      now_ = std::max(now_, next);
      if (kind == 0) return;
      if (kind == 1) {
        delivery d = queue_.top();
        queue_.pop();
        deliver(d);
      } else {
        nodes_[who].e->tick(local(who, now_));
        after_call(who);
      }
    }
  }
  void run_for(nanos d) { run_until(now_ + d); }

  // Links: a cut link loses every message, both ways unless one_way.
  void cut(std::size_t a, std::size_t b, bool one_way = false) {
    link_[a][b] = false;
    if (!one_way) link_[b][a] = false;
  }
  void heal(std::size_t a, std::size_t b) { link_[a][b] = link_[b][a] = true; }
  void heal_all() {
    for (auto& row : link_) std::fill(row.begin(), row.end(), true);
  }
  void isolate(std::size_t a) {
    for (std::size_t b = 0; b < nodes_.size(); ++b) {
      if (b != a) cut(a, b);
    }
  }
  bool linked(std::size_t a, std::size_t b) const { return link_[a][b]; }

  // The process of member i is gone: the others whose link works see its connections close.
  void crash(std::size_t i, bool tell_connections = true) {
    nodes_[i].e.reset();
    nodes_[i].hook_lord = false;
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i || !tell_connections || !link_[i][j]) continue;
      push(delivery{now_ + pick_delay(), seq_++, i, j, std::nullopt});
    }
  }
  void restart(std::size_t i) { start(i); }
  void shutdown(std::size_t i) {
    nodes_[i].e->shutdown(local(i, now_));
    after_call(i);
    if (nodes_[i].hook_lord) fail("member " + std::to_string(i) + " shut down as lord");
    nodes_[i].e.reset();
  }

  bool up(std::size_t i) const { return nodes_[i].e.has_value(); }
  bool is_lord(std::size_t i) const { return nodes_[i].e && nodes_[i].e->is_lord(local(i, now_)); }
  std::optional<std::size_t> lord() const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (is_lord(i)) return i;
    }
    return std::nullopt;
  }
  election& member(std::size_t i) { return *nodes_[i].e; }
  legion_view view(std::size_t i) const { return nodes_[i].e->view(local(i, now_)); }
  const std::string& address(std::size_t i) const { return addresses_[i]; }
  const std::string& uuid(std::size_t i) const { return nodes_[i].uuid; }
  nanos now() const { return now_; }
  sim_options& options() { return o_; }
  const std::vector<sim_event>& events() const { return events_; }
  // "" while every check passed; else the first violation.
  const std::string& violation() const { return violation_; }
  std::size_t deliveries() const { return delivered_; }

  // The lord events of all members, in true-time order.
  std::vector<sim_event> lord_events() const {
    std::vector<sim_event> out;
    for (const sim_event& e : events_) {
      if (e.ev.kind == hook_event::lord) out.push_back(e);
    }
    return out;
  }
  std::vector<hook_event> kinds_of(std::size_t i) const {
    std::vector<hook_event> out;
    for (const sim_event& e : events_) {
      if (e.member == i) out.push_back(e.ev.kind);
    }
    return out;
  }

 private:
  struct node {
    std::optional<election> e;
    std::string uuid;
    double rate = 1.0;
    clock::time_point origin;  // the local clock at true time 0
    int incarnation = 0;
    bool hook_lord = false;  // between a lord and an unlord event
    std::uint64_t hook_epoch = 0;
  };
  struct delivery {
    nanos at;
    std::uint64_t seq;
    std::size_t from, to;
    std::optional<message> msg;  // empty: the connection from `from` closed
    bool operator>(const delivery& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  clock::time_point local(std::size_t i, nanos t) const {
    const double ns = static_cast<double>(t.count()) * nodes_[i].rate;
    return nodes_[i].origin + nanos(static_cast<std::int64_t>(std::floor(ns)));
  }
  nanos true_time(std::size_t i, clock::time_point l) const {
    if (l == clock::time_point::max()) return nanos::max();
    const double ns = static_cast<double>((l - nodes_[i].origin).count()) / nodes_[i].rate;
    nanos t(static_cast<std::int64_t>(std::ceil(ns)) + 1);
    while (local(i, t) < l) t += nanos(1);
    return std::max(t, now_);
  }

  void start(std::size_t i) {
    node& n = nodes_[i];
    std::ostringstream u;
    u << std::hex << (0x10000000u + static_cast<unsigned>(i)) << "-0000-4000-8000-"
      << (0x100000000000ULL + static_cast<unsigned long long>(n.incarnation++) * 7919 +
          (rng_() & 0xfff));
    n.uuid = u.str();
    identity id;
    id.legion = "sim";
    id.address = addresses_[i];
    id.uuid = n.uuid;
    id.valor = o_.valors.empty() ? static_cast<std::int64_t>(o_.members - i) : o_.valors[i];
    id.hostname = "host" + std::to_string(i);
    id.pid = 100 + n.incarnation;
    election_params p;
    p.members = addresses_;
    p.quorum = o_.quorum;
    p.times = o_.times;
    p.drift = o_.drift;
    p.keep_lord = o_.keep_lord;
    n.e.emplace(id, p, local(i, now_));
    after_call(i);
  }

  nanos pick_delay() {
    std::uniform_int_distribution<std::int64_t> d(o_.delay_min.count(), o_.delay_max.count());
    nanos x(d(rng_));
    if (o_.straggle > 0 && chance(o_.straggle)) {
      x += nanos(std::uniform_int_distribution<std::int64_t>(0, o_.straggle_max.count())(rng_));
    }
    return x;
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  void push(delivery d) { queue_.push(std::move(d)); }

  void send_from(std::size_t i, const outgoing& o) {
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i || (!o.to.empty() && o.to != addresses_[j])) continue;
      if (!link_[i][j] || (o_.drop > 0 && chance(o_.drop))) continue;
      message m = o.msg;
      m.from = addresses_[i];
      m.uuid = nodes_[i].uuid;
      m.valor = o_.valors.empty() ? static_cast<std::int64_t>(o_.members - i) : o_.valors[i];
      m.hostname = "host" + std::to_string(i);
      m.seq = ++sent_seq_;
      const int copies = o_.duplicate > 0 && chance(o_.duplicate) ? 2 : 1;
      for (int c = 0; c < copies; ++c) push(delivery{now_ + pick_delay(), seq_++, i, j, m});
    }
  }

  void deliver(const delivery& d) {
    if (!nodes_[d.to].e || !link_[d.from][d.to]) return;  // cut while in flight: lost
    ++delivered_;
    if (d.msg) {
      nodes_[d.to].e->receive(*d.msg, local(d.to, now_));
    } else {
      nodes_[d.to].e->connection_lost(addresses_[d.from], local(d.to, now_));
    }
    after_call(d.to);
  }

  void after_call(std::size_t i) {
    for (const outgoing& o : nodes_[i].e->take_outgoing()) send_from(i, o);
    for (election_event& ev : nodes_[i].e->take_events()) {
      if (ev.kind == hook_event::lord || ev.kind == hook_event::unlord) {
        node& n = nodes_[i];
        const bool lord = ev.kind == hook_event::lord;
        if (lord == n.hook_lord || (!lord && ev.epoch != n.hook_epoch)) {
          fail("member " + std::to_string(i) + ": " + hook_event_name(ev.kind) + " of epoch " +
               std::to_string(ev.epoch) + " out of turn");
        }
        n.hook_lord = lord;
        n.hook_epoch = ev.epoch;
      }
      events_.push_back(sim_event{now_, i, std::move(ev)});
    }
    check_hooks();
    if (!violation_.empty() || !is_lord(i)) return;
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (j != i && is_lord(j)) {
        std::ostringstream w;
        w << "two lords at " << std::chrono::duration<double, std::milli>(now_).count()
          << " ms: member " << i << " and member " << j;
        violation_ = w.str();
      }
    }
  }

  void fail(std::string why) {
    if (!violation_.empty()) return;
    std::ostringstream w;
    w << std::chrono::duration<double, std::milli>(now_).count() << " ms: " << why;
    violation_ = w.str();
  }
  // The lord hooks never outlive the lease: between a member's lord and unlord events it is lord
  // (it steps down a heartbeat before the lease ends, on a tick it asked for).
  void check_hooks() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].e && nodes_[i].hook_lord && !is_lord(i)) {
        fail("member " + std::to_string(i) + " is past its lease before its unlord event");
      }
    }
  }

  sim_options o_;
  std::mt19937_64 rng_;
  std::vector<std::string> addresses_;
  std::vector<std::vector<bool>> link_;
  std::vector<node> nodes_;
  std::priority_queue<delivery, std::vector<delivery>, std::greater<>> queue_;
  nanos now_{0};
  std::uint64_t seq_ = 0;
  std::uint64_t sent_seq_ = 0;
  std::size_t delivered_ = 0;
  std::vector<sim_event> events_;
  std::string violation_;
};

}  // namespace brood::legion::testing

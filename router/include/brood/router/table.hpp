#pragma once
// The subscription table of a router (docs/uwsgi-compat.md §10): keys -> nodes, filled by
// subscription datagrams, read by the data path. Pure: no I/O, the time is passed in. Not
// thread-safe: one router process uses it from its one event-loop thread.
//
// Life of a node: subscribe adds it (or refreshes it: death mark cleared, cores, load, weight and
// last seen updated). It is death-marked by an unsubscribe, by a failed connection (mark_failed)
// or, at lookup, when not refreshed within the tolerance; a death-marked node is never picked and
// it leaves the table when its reference count (requests in flight) is 0.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "brood/wire/subscription.hpp"

namespace brood::router {

// subscription-algo.
enum class algorithm { wrr, lrc, wlrc };
// "wrr", "lrc", "wlrc"; nullopt for anything else.
std::optional<algorithm> parse_algorithm(std::string_view name) noexcept;

struct node {
  using time_point = std::chrono::steady_clock::time_point;
  std::string key;
  std::string address;
  std::uint8_t modifier1 = 0, modifier2 = 0;
  std::uint64_t weight = 1;  // >= 1 (0 on the wire is 1)
  std::uint64_t cores = 0, load = 0;
  std::uint64_t references = 0;  // requests in flight
  bool death_mark = false;
  bool removed = false;  // no longer in the table (a handle may still point at it)
  std::uint64_t failcnt = 0;
  time_point last_seen{};
  std::int64_t last_check_unix = 0;        // wall clock of the last refresh (stats)
  std::optional<std::uint64_t> unix_time;  // the last signed "unix" seen (anti-replay)
  std::uint64_t wrr = 0;                   // picks left in this wrr round
  std::uint64_t requests = 0;
  std::uint64_t tx = 0, rx = 0;  // bytes to the client, from the client (stats)
  bool keepalive = false;        // "keepalive=1": answers framed on kept connections (brood)
};
using node_ref = std::shared_ptr<node>;

struct slot {
  std::string key;
  std::uint64_t hits = 0;
  std::vector<node_ref> nodes;  // in subscription order
};

class table {
 public:
  using time_point = node::time_point;

  table(algorithm algo, std::chrono::seconds tolerance) : algo_(algo), tolerance_(tolerance) {}

  enum class change { new_key_and_node, new_node, refreshed, unsubscribed, unknown_node };
  // Applies one decoded subscription datagram (s.unsubscribe tells which). `wall_unix` is the
  // wall clock (seconds) kept for the stats.
  change apply(const wire::subscription& s, time_point now, std::int64_t wall_unix = 0);

  // The node `key`'s slot has for `address`, or null.
  node_ref find(std::string_view key, std::string_view address) const;

  // Picks a live node for `key` by the algorithm, after death-marking (and dropping) the nodes
  // not refreshed within the tolerance. The pick's reference count and request count go up:
  // REQUIRES release() once its request ends. Null when the key has no live node.
  node_ref pick(std::string_view key, time_point now);
  // The request on `n` ended. A death-marked node with no reference left leaves the table.
  void release(const node_ref& n);
  // `n` refused a connection or died: death mark and failcnt++ (it comes back with its next
  // subscription). Does not release.
  void mark_failed(const node_ref& n);

  const std::unordered_map<std::string, slot>& slots() const noexcept { return slots_; }
  std::size_t node_count() const noexcept;

 private:
  void remove_if_done(const node_ref& n);
  node_ref pick_wrr(slot& s);
  node_ref pick_least(slot& s, bool weighted);

  algorithm algo_;
  std::chrono::seconds tolerance_;
  std::unordered_map<std::string, slot> slots_;
};

}  // namespace brood::router

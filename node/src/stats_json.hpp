#pragma once
// The node's stats document: uWSGI's stats-server JSON (docs/uwsgi-compat.md §11) with uWSGI's key
// names, order and types, so existing readers (uwsgitop, telegraf, netdata...) work on brood.
// Built from a plain snapshot (node_stats) that the master fills; pure, no I/O.
//
// What brood has not: daemons, caches, metrics, crons and legions are never written; locks and
// apps are empty lists; harakiri_count, signals and signal_queue are 0. One core per worker
// (brood's worker is one thread); its vars are [""] (the request's vars stay in the worker).
// brood adds, after "spoolers", a "cheaper" object when cheaper is on or the node is cheap:
// {algo, cheaper, processes, active, cheap_mode, last_decision, last_decision_at}; and, last, a
// "subscriptions" list when the node subscribes: {server, key, address, blocked} per target
// (blocked: FIFO S or start-unsubscribed).
#include <cstdint>
#include <string>
#include <vector>

#include "brood/legion/view.hpp"

namespace brood::node {

struct socket_stats {
  std::string name;  // as bound: "127.0.0.1:3031" or the unix path
  std::string proto = "uwsgi";
  std::uint64_t queue = 0;      // connections waiting in the backlog now (TCP; 0 for unix)
  std::uint64_t max_queue = 0;  // the backlog's size (listen)
};

// One core (request thread) of a worker.
struct core_stats {
  std::uint64_t requests = 0;
  bool in_request = false;
  std::int64_t request_start = 0;  // unix seconds of the request in flight (when in_request)
};

struct worker_stats {
  unsigned id = 0;  // 1-based
  std::int64_t pid = 0;
  bool accepting = false;
  std::uint64_t requests = 0;
  std::uint64_t delta_requests = 0;  // since the worker's spawn
  std::uint64_t exceptions = 0;
  // harakiri kills of this worker id
  std::uint64_t harakiri_count = 0;
  bool busy = false;               // a request in flight ("busy", else "idle")
  bool cheap = false;              // cheaped: no process ("cheap", pid 0)
  bool paused = false;             // paused and not busy ("pause")
  std::int64_t request_start = 0;  // unix seconds of the request in flight (when busy)
  std::uint64_t rss = 0;           // bytes
  std::uint64_t vsz = 0;           // bytes
  std::uint64_t running_time = 0;  // µs spent in requests
  std::int64_t last_spawn = 0;     // unix seconds
  std::uint64_t respawn_count = 0;
  std::uint64_t tx = 0;      // bytes
  std::uint64_t avg_rt = 0;  // µs per request
  std::uint64_t write_errors = 0;
  std::uint64_t read_errors = 0;
  std::vector<core_stats> cores;  // one per thread; empty: one core with the worker's figures
};

struct spooler_stats {
  std::string dir;
  std::int64_t pid = 0;
  std::uint64_t tasks = 0;
  std::uint64_t respawns = 0;
  bool running = false;  // a task in progress
  // brood: the task log of its dir (docs/spool_format.md §9; the "log" object).
  std::uint64_t log_segments = 0, log_pending = 0, log_tasks = 0, log_commits = 0,
                log_last_batch = 0, log_max_batch = 0;
};

// brood's addition: the cheaper subsystem's state (the "cheaper" object; absent when off).
struct cheaper_stats {
  std::string algo;  // "" : cheaper is off
  unsigned cheaper = 0;
  unsigned processes = 0;
  unsigned active = 0;  // workers with a process that is not stopping
  bool cheap_mode = false;
  std::string last_decision;          // "spawn 6: 2 busy + 6 queued: want 8, have 2"; "" : none yet
  std::int64_t last_decision_at = 0;  // unix seconds
};

struct node_stats {
  std::string version;
  std::uint64_t listen_queue = 0;  // the longest backlog over the sockets now
  std::uint64_t listen_queue_errors = 0;
  std::uint64_t signal_queue = 0;
  std::uint64_t load = 0;  // the backlog of the first TCP socket now
  std::int64_t pid = 0;
  std::uint64_t uid = 0;
  std::uint64_t gid = 0;
  std::string cwd;
  std::vector<socket_stats> sockets;
  std::vector<worker_stats> workers;
  std::vector<spooler_stats> spoolers;  // empty: the "spoolers" key is left out
  cheaper_stats cheaper;
  // uWSGI's `legions` entries (plus brood's epoch); empty: the key is left out.
  std::vector<legion::legion_view> legions;
  // brood's subscription targets; empty: the key is left out.
  struct subscription {
    std::string server, key, address;
    bool blocked = false;
  };
  std::vector<subscription> subscriptions;
};

// The JSON document (indented with tabs, as uWSGI's). Invalid UTF-8 in strings is replaced.
std::string stats_json(const node_stats& s);

}  // namespace brood::node

// stats_json: node_stats -> uWSGI's stats document, keys in uWSGI's order (ordered_json).
#include "stats_json.hpp"

#include <initializer_list>

#include <nlohmann/json.hpp>

namespace brood::node {
namespace {

using json = nlohmann::ordered_json;

std::uint64_t flag(bool b) { return b ? 1 : 0; }

// One core of a worker: uWSGI's per-core counters; req_info is {} while idle. The read and write
// errors are the worker's (brood counts them per worker).
json core_json(const worker_stats& w, unsigned id, const core_stats& c) {
  json core;
  core["id"] = id;
  core["requests"] = c.requests;
  core["static_requests"] = 0;
  core["routed_requests"] = 0;
  core["offloaded_requests"] = 0;
  core["write_errors"] = w.write_errors;
  core["read_errors"] = w.read_errors;
  core["in_request"] = flag(c.in_request);
  core["vars"] = json::array({""});  // uWSGI ends the list with an empty string
  json info = json::object();
  if (c.in_request) info["request_start"] = c.request_start;
  core["req_info"] = std::move(info);
  return core;
}

json worker_json(const worker_stats& w) {
  json out;
  out["id"] = w.id;
  out["pid"] = w.pid;
  out["accepting"] = flag(w.accepting);
  out["requests"] = w.requests;
  out["delta_requests"] = w.delta_requests;
  out["exceptions"] = w.exceptions;
  out["harakiri_count"] = w.harakiri_count;
  out["signals"] = 0;
  out["signal_queue"] = 0;
  out["status"] = w.cheap ? "cheap" : w.busy ? "busy" : w.paused ? "pause" : "idle";
  out["rss"] = w.rss;
  out["vsz"] = w.vsz;
  out["running_time"] = w.running_time;
  out["last_spawn"] = w.last_spawn;
  out["respawn_count"] = w.respawn_count;
  out["tx"] = w.tx;
  out["avg_rt"] = w.avg_rt;
  out["apps"] = json::array();
  json& cores = out["cores"] = json::array();
  if (w.cores.empty()) cores.push_back(core_json(w, 0, {w.requests, w.busy, w.request_start}));
  for (unsigned i = 0; i < w.cores.size(); ++i) cores.push_back(core_json(w, i, w.cores[i]));
  return out;
}

json socket_json(const socket_stats& s) {
  json out;
  out["name"] = s.name;
  out["proto"] = s.proto;
  out["queue"] = s.queue;
  out["max_queue"] = s.max_queue;
  out["shared"] = 0;
  out["can_offload"] = 0;
  return out;
}

json spooler_json(const spooler_stats& s) {
  json out;
  out["dir"] = s.dir;
  out["pid"] = s.pid;
  out["tasks"] = s.tasks;
  out["respawns"] = s.respawns;
  out["running"] = flag(s.running);
  out["log"] = {{"segments", s.log_segments},     {"pending", s.log_pending},
                {"tasks", s.log_tasks},           {"commits", s.log_commits},
                {"last_batch", s.log_last_batch}, {"max_batch", s.log_max_batch}};
  return out;
}

// One `legions` entry: to_json's object with uWSGI's keys first, in uWSGI's order, then brood's.
json in_order(const nlohmann::json& j, std::initializer_list<const char*> first) {
  json out = json::object();
  for (const char* k : first)
    if (const auto it = j.find(k); it != j.end()) out[k] = *it;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!out.contains(it.key())) out[it.key()] = *it;
  return out;
}

json legion_json(const legion::legion_view& v) {
  const nlohmann::json j = legion::to_json(v);
  json out = in_order(j, {"legion", "addr", "uuid", "valor", "checksum", "quorum", "i_am_the_lord",
                          "lord_valor", "lord_uuid", "nodes", "members"});
  json members = json::array();
  for (const nlohmann::json& m : j.value("members", nlohmann::json::array()))
    members.push_back(in_order(m, {"name", "uuid", "valor", "checksum", "last_seen"}));
  out["members"] = std::move(members);
  return out;
}

}  // namespace

std::string stats_json(const node_stats& s) {
  json doc;
  doc["version"] = s.version;
  doc["listen_queue"] = s.listen_queue;
  doc["listen_queue_errors"] = s.listen_queue_errors;
  doc["signal_queue"] = s.signal_queue;
  doc["load"] = s.load;
  doc["pid"] = s.pid;
  doc["uid"] = s.uid;
  doc["gid"] = s.gid;
  doc["cwd"] = s.cwd;
  doc["locks"] = json::array();
  json& sockets = doc["sockets"] = json::array();
  for (const socket_stats& sock : s.sockets) sockets.push_back(socket_json(sock));
  json& workers = doc["workers"] = json::array();
  for (const worker_stats& w : s.workers) workers.push_back(worker_json(w));
  if (!s.spoolers.empty()) {
    json& spoolers = doc["spoolers"] = json::array();
    for (const spooler_stats& sp : s.spoolers) spoolers.push_back(spooler_json(sp));
  }
  if (!s.cheaper.algo.empty() || s.cheaper.cheap_mode) {
    json& c = doc["cheaper"];
    c["algo"] = s.cheaper.algo;
    c["cheaper"] = s.cheaper.cheaper;
    c["processes"] = s.cheaper.processes;
    c["active"] = s.cheaper.active;
    c["cheap_mode"] = flag(s.cheaper.cheap_mode);
    c["last_decision"] = s.cheaper.last_decision;
    c["last_decision_at"] = s.cheaper.last_decision_at;
  }
  if (!s.legions.empty()) {
    json& legions = doc["legions"] = json::array();
    for (const legion::legion_view& v : s.legions) legions.push_back(legion_json(v));
  }
  if (!s.subscriptions.empty()) {
    json& subs = doc["subscriptions"] = json::array();
    for (const node_stats::subscription& t : s.subscriptions) {
      json o = json::object();
      o["server"] = t.server;
      o["key"] = t.key;
      o["address"] = t.address;
      o["blocked"] = flag(t.blocked);
      subs.push_back(std::move(o));
    }
  }
  return doc.dump(1, '\t', false, json::error_handler_t::replace);
}

}  // namespace brood::node

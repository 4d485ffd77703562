// The emperor-stats JSON, with uWSGI 2.0's field names and types (docs/uwsgi-compat.md §4.6): every
// flag and time is a number (uWSGI writes them as integers), pid is signed (-1: no process).
#include "brood/emperor/stats.hpp"

#include <unistd.h>

#include <climits>
#include <nlohmann/json.hpp>

#include "brood/legion/member.hpp"
#include "brood/legion/process.hpp"
#include "brood/legion/view.hpp"

namespace brood::emperor {
namespace {

using nlohmann::json;

std::string current_directory() {
  char buf[PATH_MAX];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string();
}

json vassal_json(const vassal& v, bool fork_fields) {
  json j = {
      {"id", v.file.name},
      {"pid", v.process ? static_cast<long long>(v.process->pid()) : -1LL},
      {"born", static_cast<long long>(v.born)},
      {"last_mod", static_cast<long long>(v.file.mtime)},
      {"last_heartbeat", static_cast<long long>(v.last_heartbeat)},
      {"loyal", v.loyal ? 1 : 0},
      {"ready", v.ready ? 1 : 0},
      {"accepting", v.accepting ? 1 : 0},
      {"last_loyal", static_cast<long long>(v.last_loyal)},
      {"last_ready", static_cast<long long>(v.last_ready)},
      {"last_accepting", static_cast<long long>(v.last_accepting)},
      {"first_run", static_cast<long long>(v.born)},
      {"last_run", static_cast<long long>(v.last_run)},
      {"cursed", static_cast<long long>(v.cursed)},
      {"zerg", v.zerg_of.empty() ? 0 : 1},
      {"on_demand", v.file.on_demand},
      {"uid", static_cast<long long>(::getuid())},
      {"gid", static_cast<long long>(::getgid())},
      {"monitor", v.file.monitor},
      {"respawns", v.respawns},
  };
  if (!fork_fields) return j;
  // brood: the fork server (docs/uwsgi-compat.md §17.2).
  j["adopted"] = v.adopted ? 1 : 0;
  j["fork_server"] = v.fork_server;
  j["fallback"] = v.fallback;
  j["fork_base"] = v.fork_base ? 1 : 0;
  j["reforks"] = v.reforks;
  return j;
}

json blacklist_json(const blacklist_entry& b) {
  return {
      {"id", b.name},
      {"throttle_level", static_cast<long long>(b.throttle.count())},
      {"attempt", b.attempts},
      {"first_attempt", static_cast<long long>(b.first_attempt)},
      {"last_attempt", static_cast<long long>(b.last_attempt)},
  };
}

}  // namespace

std::string stats_json(const emperor_core& core) { return stats_json(core, nullptr); }

std::string stats_json(const emperor_core& core, const legion::placement_view* placement) {
  const bool fork_fields = core.config().uses_fork_server() || !core.config().fork_bases.empty();
  json vassals = json::array();
  for (const auto& [name, v] : core.vassals()) vassals.push_back(vassal_json(v, fork_fields));
  json blacklist = json::array();
  for (const auto& [name, b] : core.blacklist()) blacklist.push_back(blacklist_json(b));
  json doc = {
      {"version", BROOD_VERSION},
      {"pid", static_cast<long long>(::getpid())},
      {"uid", static_cast<long long>(::getuid())},
      {"gid", static_cast<long long>(::getgid())},
      {"cwd", current_directory()},
      {"emperor", core.config().sources},
      {"emperor_tyrant", 0},
      {"throttle_level", 0},
      {"vassals", std::move(vassals)},
      {"blacklist", std::move(blacklist)},
  };
  if (fork_fields) {
    doc["adoptions"] = core.adoptions();
    doc["fallbacks"] = core.fallbacks();
    doc["retired"] = core.retired().size();
  }
  if (const legion::members* m = legion::process_members()) {
    json legions = json::array();
    for (const legion::legion_view& v : m->views()) legions.push_back(legion::to_json(v));
    doc["legions"] = std::move(legions);
  }
  if (placement != nullptr) doc["legion_placement"] = legion::to_json(*placement);
  return doc.dump();
}

}  // namespace brood::emperor

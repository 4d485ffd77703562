// The router's stats document, with the keys of uWSGI 2.0.21's fastrouter stats server
// (docs/uwsgi-compat.md §10).
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "brood/router/routing_key.hpp"
#include "core.hpp"

namespace brood::router {

std::string stats_json(const core& c) {
  using nlohmann::ordered_json;
  ordered_json doc;
  doc["version"] = std::string("brood-") + BROOD_VERSION;
  doc["pid"] = ::getpid();
  doc["uid"] = ::getuid();
  doc["gid"] = ::getgid();
  std::error_code ec;
  doc["cwd"] = std::filesystem::current_path(ec).string();
  doc["active_sessions"] = c.active_sessions;
  ordered_json names = ordered_json::array();
  for (const std::string& n : c.socket_names) names.push_back(n);
  for (const std::string& n : c.subscription_names) names.push_back(n);
  doc["fastrouter"] = names;
  ordered_json subs = ordered_json::array();
  for (const auto& [key, sl] : c.subscriptions.slots()) {
    ordered_json s;
    s["key"] = key;
    s["hash"] = key_hash(key);
    s["hits"] = sl.hits;
    s["sni_enabled"] = 0;
    ordered_json nodes = ordered_json::array();
    for (const node_ref& n : sl.nodes) {
      ordered_json o;
      o["name"] = n->address;
      o["modifier1"] = n->modifier1;
      o["modifier2"] = n->modifier2;
      o["last_check"] = n->last_check_unix;
      o["pid"] = 0;
      o["uid"] = 0;
      o["gid"] = 0;
      o["requests"] = n->requests;
      o["last_requests"] = n->requests;
      o["tx"] = n->tx;
      o["rx"] = n->rx;
      o["cores"] = n->cores;
      o["load"] = n->load;
      o["weight"] = n->weight;
      o["wrr"] = n->wrr;
      o["ref"] = n->references;
      o["failcnt"] = n->failcnt;
      o["death_mark"] = n->death_mark ? 1 : 0;
      nodes.push_back(std::move(o));
    }
    s["nodes"] = std::move(nodes);
    subs.push_back(std::move(s));
  }
  doc["subscriptions"] = std::move(subs);
  doc["cheap"] = 0;
  return doc.dump(1, '\t') + "\n";
}

}  // namespace brood::router

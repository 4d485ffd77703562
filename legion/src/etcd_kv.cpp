#include "etcd_kv.hpp"

#include <charconv>

namespace brood::legion::etcd {

std::int64_t int_field(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return 0;
  const std::string& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

namespace {

bool to_kv(const nlohmann::json& j, key_value& out) {
  if (!j.is_object()) return false;
  out.create_revision = int_field(j, "create_revision");
  out.mod_revision = int_field(j, "mod_revision");
  out.lease = int_field(j, "lease");
  return base64_decode(j.value("key", std::string()), out.key) &&
         base64_decode(j.value("value", std::string()), out.value);
}

reply malformed(reply r, const char* what) {
  r.ok = false;
  r.code = -1;
  r.error = std::string("etcd: malformed answer to ") + what;
  return r;
}

}  // namespace

reply kv::status() { return call("/v3/maintenance/status", nlohmann::json::object()); }

reply kv::grant(std::int64_t ttl_s, std::int64_t& id, std::int64_t& granted_s) {
  reply r = call("/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}});
  if (!r.ok) return r;
  id = int_field(r.body, "ID");
  granted_s = int_field(r.body, "TTL");
  if (id == 0 || granted_s <= 0) return malformed(std::move(r), "lease grant");
  return r;
}

reply kv::keepalive(std::int64_t id, std::int64_t& ttl_s) {
  reply r = call("/v3/lease/keepalive", {{"ID", std::to_string(id)}});
  ttl_s = r.ok ? int_field(r.body, "TTL") : 0;
  return r;
}

reply kv::revoke(std::int64_t id) { return call("/v3/lease/revoke", {{"ID", std::to_string(id)}}); }

reply kv::put(const std::string& key, const std::string& value, std::int64_t lease) {
  return call("/v3/kv/put", {{"key", base64_encode(key)},
                             {"value", base64_encode(value)},
                             {"lease", std::to_string(lease)}});
}

reply kv::create(const std::string& key, const std::string& value, std::int64_t lease,
                 key_value& out) {
  const std::string k = base64_encode(key);
  const nlohmann::json body = {
      {"compare",
       {{{"key", k}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
      {"success",
       {{{"request_put",
          {{"key", k}, {"value", base64_encode(value)}, {"lease", std::to_string(lease)}}}}}},
      {"failure", {{{"request_range", {{"key", k}}}}}}};
  reply r = call("/v3/kv/txn", body);
  if (!r.ok) return r;
  if (r.body.value("succeeded", false)) {
    out = {key, value, int_field(r.body["header"], "revision"), lease};
    return r;
  }
  const auto& resp = r.body.value("responses", nlohmann::json::array());
  if (resp.empty() || !resp[0].contains("response_range")) return malformed(std::move(r), "txn");
  const auto& kvs = resp[0]["response_range"].value("kvs", nlohmann::json::array());
  if (kvs.empty() || !to_kv(kvs[0], out)) return malformed(std::move(r), "txn");
  return r;
}

reply kv::remove(const std::string& key) {
  return call("/v3/kv/deleterange", {{"key", base64_encode(key)}});
}

reply kv::range_prefix(const std::string& prefix, std::vector<key_value>& out) {
  out.clear();
  reply r = call("/v3/kv/range", {{"key", base64_encode(prefix)},
                                  {"range_end", base64_encode(prefix_end(prefix))}});
  if (!r.ok) return r;
  for (const auto& j : r.body.value("kvs", nlohmann::json::array())) {
    key_value one;
    if (!to_kv(j, one)) return malformed(std::move(r), "range");
    out.push_back(std::move(one));
  }
  return r;
}

reply kv::range_since(const std::string& prefix, std::int64_t after, std::vector<key_value>& out,
                      std::int64_t& revision) {
  out.clear();
  reply r = call("/v3/kv/range", {{"key", base64_encode(prefix)},
                                  {"range_end", base64_encode(prefix_end(prefix))},
                                  {"min_mod_revision", std::to_string(after + 1)}});
  if (!r.ok) return r;
  revision = int_field(r.body["header"], "revision");
  for (const auto& j : r.body.value("kvs", nlohmann::json::array())) {
    key_value one;
    if (!to_kv(j, one)) return malformed(std::move(r), "range");
    out.push_back(std::move(one));
  }
  return r;
}

reply kv::put_all(const std::vector<put_op>& puts, const std::optional<key_value>& guard,
                  bool& applied, const std::vector<std::string>& removes) {
  applied = false;
  nlohmann::json ops = nlohmann::json::array();
  for (const put_op& p : puts)
    ops.push_back({{"request_put",
                    {{"key", base64_encode(p.key)},
                     {"value", base64_encode(p.value)},
                     {"lease", std::to_string(p.lease)}}}});
  for (const std::string& k : removes)
    ops.push_back({{"request_delete_range", {{"key", base64_encode(k)}}}});
  nlohmann::json body = {{"success", std::move(ops)}};
  if (guard)
    body["compare"] = {{{"key", base64_encode(guard->key)},
                        {"target", "CREATE"},
                        {"result", "EQUAL"},
                        {"create_revision", std::to_string(guard->create_revision)}}};
  reply r = call("/v3/kv/txn", body);
  if (r.ok) applied = r.body.value("succeeded", false);
  return r;
}

reply kv::leader(const std::string& name, std::optional<key_value>& out) {
  out.reset();
  reply r = call("/v3/election/leader", {{"name", base64_encode(name)}});
  if (!r.ok) {
    if (!r.transport && r.code == unknown && r.error.find("no leader") != std::string::npos) {
      r.ok = true;
      r.error.clear();
    }
    return r;
  }
  key_value one;
  if (!r.body.contains("kv") || !to_kv(r.body["kv"], one)) return malformed(std::move(r), "leader");
  out = std::move(one);
  return r;
}

reply kv::resign(const std::string& name, const key_value& k) {
  return call("/v3/election/resign", {{"leader",
                                       {{"name", base64_encode(name)},
                                        {"key", base64_encode(k.key)},
                                        {"rev", std::to_string(k.create_revision)},
                                        {"lease", std::to_string(k.lease)}}}});
}

}  // namespace brood::legion::etcd

#pragma once
// The few etcd v3 calls the legion needs, typed, over the gateway client (etcd_client.hpp). Keys
// and values are bytes here (base64 on the wire); int64 fields travel as JSON strings. Each call
// returns the client's reply (transport failure, etcd's error, or ok) next to its typed result.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "etcd_client.hpp"

namespace brood::legion::etcd {

struct key_value {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

// One put of a batch (kv::put_all).
struct put_op {
  std::string key;
  std::string value;
  std::int64_t lease = 0;  // 0: none
};

// The gRPC code of "requested lease not found" and of "election: no leader".
inline constexpr int not_found = 5;
inline constexpr int unknown = 2;

class kv {
 public:
  kv(client& c, milliseconds timeout) : c_(c), timeout_(timeout) {}
  void set_timeout(milliseconds t) { timeout_ = t; }
  milliseconds timeout() const { return timeout_; }

  reply status();
  // A lease of `ttl_s` seconds; etcd may grant more (its minimum): `granted_s`.
  reply grant(std::int64_t ttl_s, std::int64_t& id, std::int64_t& granted_s);
  // `ttl_s` 0: the lease is gone (expired or revoked).
  reply keepalive(std::int64_t id, std::int64_t& ttl_s);
  reply revoke(std::int64_t id);
  reply put(const std::string& key, const std::string& value, std::int64_t lease);
  // Creates `key` on `lease` unless it exists (a transaction on create_revision == 0, the way
  // etcd's election API campaigns); `out` is the key as it is now (ours or not: compare lease).
  reply create(const std::string& key, const std::string& value, std::int64_t lease,
               key_value& out);
  reply remove(const std::string& key);
  // Every key starting with `prefix`, by key.
  reply range_prefix(const std::string& prefix, std::vector<key_value>& out);
  // Every key starting with `prefix` modified after revision `after` (etcd's min_mod_revision),
  // by key; `revision` is the store's revision the answer reflects (the next `after`).
  reply range_since(const std::string& prefix, std::int64_t after, std::vector<key_value>& out,
                    std::int64_t& revision);
  // The puts (and the deletes of `removes`) in one transaction, all or none. With `guard`, only
  // while that key still exists with that create_revision (a lordship: a deposed lord's writes
  // fail): `applied` false then.
  reply put_all(const std::vector<put_op>& puts, const std::optional<key_value>& guard,
                bool& applied, const std::vector<std::string>& removes = {});
  // The election API: the oldest key under "name/" (nullopt: none, etcd's "no leader").
  reply leader(const std::string& name, std::optional<key_value>& out);
  // Deletes the leader key if it is still `k` (election API resign).
  reply resign(const std::string& name, const key_value& k);

 private:
  reply call(const char* path, const nlohmann::json& body) { return c_.post(path, body, timeout_); }
  client& c_;
  milliseconds timeout_;
};

// One int64 field as etcd's gateway writes it (a string; absent = 0).
std::int64_t int_field(const nlohmann::json& j, const char* name);
// The end of the range of keys starting with `prefix` (etcd's prefix range_end).
std::string prefix_end(std::string prefix);

}  // namespace brood::legion::etcd

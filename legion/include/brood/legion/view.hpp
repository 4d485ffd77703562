#pragma once
// What one member knows of its legion at one moment: for the stats JSON (uWSGI's `legions`
// entries plus brood's epoch), the Python API and `brood legion ADDR`. Plain data.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace brood::legion {

struct member_view {
  std::string address;  // configured "host:port"
  std::string name;     // hostname it announced
  std::string uuid;     // empty: never heard
  std::int64_t valor = 0;
  std::int64_t pid = 0;
  std::string scroll;
  bool alive = false;
  std::int64_t last_seen_unix = 0;  // seconds, 0: never
};

struct legion_view {
  std::string legion;
  std::string address;  // this member's
  std::string uuid;
  std::int64_t valor = 0;
  std::string scroll;   // this member's `legion-scroll` (uwsgi.scrolls lists it first)
  std::string backend;  // "zeromq" or "etcd"
  std::size_t quorum = 0;
  bool i_am_the_lord = false;
  std::uint64_t epoch = 0;
  std::string lord_uuid;  // empty: no lord known
  std::string lord_address;
  std::int64_t lord_valor = 0;
  std::string lord_scroll;
  std::int64_t lord_since_unix_ms = 0;  // when this member became lord (0: it is not)
  // While i_am_the_lord: the moment this member stops acting as lord unless its lease is renewed
  // first (workers read i_am_the_lord as false past it, even from a stalled master). Not in JSON.
  std::chrono::steady_clock::time_point lord_until{};
  std::vector<member_view> members;  // every other configured member
};

// uWSGI's stats entry: {legion, addr, uuid, valor, checksum, quorum, i_am_the_lord, lord_valor,
// lord_uuid, nodes:[addr...], members:[{name, uuid, valor, checksum, last_seen}]} plus brood's
// "epoch", "backend", "lord_addr" and each member's "alive".
nlohmann::json to_json(const legion_view& v);
// The inverse, for `brood legion` reading a member's answer; false when a field is missing or has
// the wrong type.
bool from_json(const nlohmann::json& j, legion_view& v);

}  // namespace brood::legion

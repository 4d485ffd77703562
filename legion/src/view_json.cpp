// legion_view as JSON (view.hpp): uWSGI's stats `legions` entry plus brood's fields
// (docs/protocol.md §14.4), and back.
#include <cstdint>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "brood/legion/view.hpp"

namespace brood::legion {
namespace {

using nlohmann::json;

// uWSGI's checksum: a valor plus the bytes of a uuid, summed.
std::uint64_t checksum_of(std::int64_t valor, const std::string& uuid) {
  std::uint64_t sum = static_cast<std::uint64_t>(valor);
  for (const char c : uuid) sum += static_cast<unsigned char>(c);
  return sum;
}

template <typename T>
bool get(const json& j, const char* key, T& out, bool required = true) {
  const auto it = j.find(key);
  if (it == j.end()) return !required;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return false;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return false;
  } else if constexpr (std::is_unsigned_v<T>) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
      return false;
    }
  } else {
    if (!it->is_number_integer()) return false;
    if (it->is_number_unsigned() &&
        it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return false;
    }
  }
  out = it->get<T>();
  return true;
}

json member_json(const member_view& m) {
  return json{{"name", m.name},
              {"uuid", m.uuid},
              {"valor", m.valor},
              {"checksum", m.uuid.empty() ? 0 : checksum_of(m.valor, m.uuid)},
              {"last_seen", m.last_seen_unix},
              {"addr", m.address},
              {"alive", m.alive},
              {"pid", m.pid},
              {"scroll", m.scroll}};
}

bool member_from(const json& j, member_view& m) {
  return j.is_object() && get(j, "name", m.name) && get(j, "uuid", m.uuid) &&
         get(j, "valor", m.valor) && get(j, "last_seen", m.last_seen_unix) &&
         get(j, "addr", m.address, false) && get(j, "alive", m.alive, false) &&
         get(j, "pid", m.pid, false) && get(j, "scroll", m.scroll, false);
}

}  // namespace

json to_json(const legion_view& v) {
  std::uint64_t checksum = checksum_of(v.valor, v.uuid);
  json nodes = json::array();
  json members = json::array();
  for (const member_view& m : v.members) {
    nodes.push_back(m.address);
    members.push_back(member_json(m));
    if (m.alive) checksum += checksum_of(m.valor, m.uuid);
  }
  // uWSGI's i_am_the_lord: when this member became lord (unix seconds), 0 when it is not.
  std::int64_t since = 0;
  if (v.i_am_the_lord) since = v.lord_since_unix_ms > 0 ? v.lord_since_unix_ms / 1000 : 1;
  return json{{"legion", v.legion},
              {"addr", v.address},
              {"uuid", v.uuid},
              {"valor", v.valor},
              {"checksum", checksum},
              {"quorum", v.quorum},
              {"i_am_the_lord", since},
              {"lord_valor", v.lord_valor},
              {"lord_uuid", v.lord_uuid},
              {"nodes", std::move(nodes)},
              {"members", std::move(members)},
              {"epoch", v.epoch},
              {"backend", v.backend},
              {"lord_addr", v.lord_address},
              {"lord_scroll", v.lord_scroll},
              {"scroll", v.scroll},
              {"lord_since_unix_ms", v.lord_since_unix_ms}};
}

bool from_json(const json& j, legion_view& out) {
  if (!j.is_object()) return false;
  legion_view v;
  std::uint64_t quorum = 0;
  if (!get(j, "legion", v.legion) || !get(j, "addr", v.address) || !get(j, "uuid", v.uuid) ||
      !get(j, "valor", v.valor) || !get(j, "quorum", quorum) ||
      !get(j, "lord_valor", v.lord_valor) || !get(j, "lord_uuid", v.lord_uuid) ||
      !get(j, "epoch", v.epoch) || !get(j, "backend", v.backend, false) ||
      !get(j, "lord_addr", v.lord_address, false) || !get(j, "lord_scroll", v.lord_scroll, false) ||
      !get(j, "scroll", v.scroll, false) ||
      !get(j, "lord_since_unix_ms", v.lord_since_unix_ms, false)) {
    return false;
  }
  v.quorum = static_cast<std::size_t>(quorum);
  const auto lord = j.find("i_am_the_lord");
  if (lord == j.end()) return false;
  if (lord->is_boolean()) {
    v.i_am_the_lord = lord->get<bool>();
  } else if (lord->is_number_integer()) {
    v.i_am_the_lord = lord->get<std::int64_t>() != 0;
  } else {
    return false;
  }
  const auto members = j.find("members");
  if (members == j.end() || !members->is_array()) return false;
  for (const json& m : *members) {
    member_view mv;
    if (!member_from(m, mv)) return false;
    v.members.push_back(std::move(mv));
  }
  out = std::move(v);
  return true;
}

}  // namespace brood::legion

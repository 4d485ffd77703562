// The placement payload (docs/protocol.md §14.5): a msgpack map of named fields, the table a map
// nested in it. Every field's type and size is checked before `out` is filled.
#include "brood/legion/placement_codec.hpp"

#include <functional>
#include <limits>
#include <set>
#include <utility>

#include "brood/wire/msgpack_codec.hpp"

namespace brood::legion {
namespace {

using wire::value;

constexpr std::size_t max_placement_fields = 32;  // unknown fields are skipped, but not without end
constexpr std::size_t max_depth = 4;  // message -> table -> catalog -> [name, replicas, zerg]

value strings(const std::vector<std::string>& v) {
  wire::array a;
  a.reserve(v.size());
  for (const std::string& s : v) a.emplace_back(s);
  return value(std::move(a));
}

value table_value(const placement_table& t) {
  wire::map f;
  f.emplace_back(value("epoch"), value(static_cast<unsigned long long>(t.epoch)));
  f.emplace_back(value("version"), value(static_cast<unsigned long long>(t.version)));
  wire::array catalog;
  for (const vassal_spec& v : t.catalog) {
    wire::array e{value(v.name), value(static_cast<unsigned>(v.replicas))};
    if (v.zerg) e.emplace_back(true);  // a third element only for a [zerg] vassal
    catalog.emplace_back(std::move(e));
  }
  f.emplace_back(value("catalog"), value(std::move(catalog)));
  wire::map placed;
  for (const auto& [name, members] : t.placed) placed.emplace_back(value(name), strings(members));
  f.emplace_back(value("placed"), value(std::move(placed)));
  wire::map leaving;
  for (const auto& [name, member] : t.leaving) leaving.emplace_back(value(name), value(member));
  f.emplace_back(value("leaving"), value(std::move(leaving)));
  return value(std::move(f));
}

// Reads the fields of one map: fills `why` on the first problem.
class placement_reader {
 public:
  placement_reader(const placement_limits& lim, std::string& why) : lim_(lim), why_(why) {}

  bool ok() const { return why_.empty(); }
  void fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
  }
  void wrong(const std::string& name) { fail("placement field '" + name + "' has the wrong type"); }

  void string(const std::string& name, const value& v, std::string& out, bool non_empty = false) {
    if (!v.is<std::string>()) return wrong(name);
    const std::string& s = v.as<std::string>();
    if (s.size() > lim_.max_string)
      return fail("placement field '" + name + "' is too long (" + std::to_string(s.size()) +
                  " bytes, at most " + std::to_string(lim_.max_string) + ")");
    if (non_empty && s.empty()) return fail("placement field '" + name + "' has an empty name");
    out = s;
  }
  void unsigned_int(const std::string& name, const value& v, std::uint64_t max,
                    std::uint64_t& out) {
    std::uint64_t u = 0;
    if (v.is<std::uint64_t>()) {
      u = v.as<std::uint64_t>();
    } else if (v.is<std::int64_t>() && v.as<std::int64_t>() >= 0) {
      u = static_cast<std::uint64_t>(v.as<std::int64_t>());
    } else {
      return wrong(name);
    }
    if (u > max)
      return fail("placement field '" + name + "' is out of range (" + std::to_string(u) + ")");
    out = u;
  }
  bool count(const std::string& name, std::size_t n) {
    if (n <= lim_.max_list) return true;
    fail("placement field '" + name + "' has too many entries (" + std::to_string(n) +
         ", at most " + std::to_string(lim_.max_list) + ")");
    return false;
  }
  void string_list(const std::string& name, const value& v, std::vector<std::string>& out) {
    if (!v.is<wire::array>()) return wrong(name);
    const wire::array& a = v.as<wire::array>();
    if (!count(name, a.size())) return;
    std::vector<std::string> list(a.size());
    for (std::size_t i = 0; i < a.size() && ok(); ++i) string(name, a[i], list[i], true);
    if (ok()) out = std::move(list);
  }
  // Walks a map with string keys, each name once; `apply` returns false for an unknown name.
  std::set<std::string> fields(const std::string& what, const value& v,
                               const std::function<void(const std::string&, const value&)>& apply) {
    std::set<std::string> seen;
    if (!v.is<wire::map>()) {
      fail(what == "placement" ? "placement is not a msgpack map"
                               : "placement field '" + what + "' has the wrong type");
      return seen;
    }
    const wire::map& m = v.as<wire::map>();
    if (m.size() > max_placement_fields) {
      fail("placement field '" + what + "' has too many fields (" + std::to_string(m.size()) +
           ", at most " + std::to_string(max_placement_fields) + ")");
      return seen;
    }
    for (const auto& [k, fv] : m) {
      if (!k.is<std::string>()) {
        fail("a placement field name is not a string");
        return seen;
      }
      const std::string& name = k.as<std::string>();
      if (!seen.insert(name).second) {
        fail("placement field '" + name + "' appears twice");
        return seen;
      }
      apply(name, fv);
      if (!ok()) return seen;
    }
    return seen;
  }
  void required(const std::set<std::string>& seen, std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (ok() && !seen.contains(n)) fail(std::string("placement field '") + n + "' is missing");
  }
  const placement_limits& lim() const { return lim_; }

 private:
  const placement_limits& lim_;
  std::string& why_;
};

void read_catalog(placement_reader& r, const value& v, std::vector<vassal_spec>& out) {
  if (!v.is<wire::array>()) return r.wrong("catalog");
  const wire::array& a = v.as<wire::array>();
  if (!r.count("catalog", a.size())) return;
  std::vector<vassal_spec> catalog(a.size());
  for (std::size_t i = 0; i < a.size() && r.ok(); ++i) {
    if (!a[i].is<wire::array>()) return r.wrong("catalog");
    const wire::array& e = a[i].as<wire::array>();
    if (e.size() != 2 && e.size() != 3) return r.wrong("catalog");
    if (e.size() == 3) {
      if (!e[2].is<bool>()) return r.wrong("catalog");
      catalog[i].zerg = e[2].as<bool>();
    }
    r.string("catalog", e[0], catalog[i].name, true);
    std::uint64_t n = 0;
    r.unsigned_int("replicas", e[1], r.lim().max_replicas, n);
    if (r.ok() && n == 0) r.fail("placement field 'replicas' is out of range (0)");
    catalog[i].replicas = static_cast<std::uint32_t>(n);
  }
  if (r.ok()) out = std::move(catalog);
}

void read_table(placement_reader& r, const value& v, placement_table& t) {
  const std::set<std::string> seen =
      r.fields("table", v, [&](const std::string& n, const value& f) {
        const auto u64 = std::numeric_limits<std::uint64_t>::max();
        if (n == "epoch") {
          r.unsigned_int(n, f, u64, t.epoch);
        } else if (n == "version") {
          r.unsigned_int(n, f, u64, t.version);
        } else if (n == "catalog") {
          read_catalog(r, f, t.catalog);
        } else if (n == "placed" || n == "leaving") {
          if (!f.is<wire::map>()) return r.wrong(n);
          const wire::map& m = f.as<wire::map>();
          if (!r.count(n, m.size())) return;
          for (const auto& [k, e] : m) {
            std::string name;
            r.string(n, k, name, true);
            if (!r.ok()) return;
            if (n == "placed") {
              std::vector<std::string> members;
              r.string_list(n, e, members);
              if (r.ok() && !t.placed.emplace(name, std::move(members)).second)
                r.fail("placement field 'placed' names '" + name + "' twice");
            } else {
              std::string member;
              r.string(n, e, member, true);
              if (r.ok() && !t.leaving.emplace(name, std::move(member)).second)
                r.fail("placement field 'leaving' names '" + name + "' twice");
            }
            if (!r.ok()) return;
          }
        }
      });
  r.required(seen, {"epoch", "version"});
}

}  // namespace

std::string encode_placement(const placement_message& m) {
  wire::map f;
  auto put = [&f](const char* name, value v) { f.emplace_back(value(name), std::move(v)); };
  put("kind", static_cast<unsigned>(m.kind));
  put("from", m.from);
  put("epoch", static_cast<unsigned long long>(m.epoch));
  put("ref", static_cast<unsigned long long>(m.ref));
  put("version", static_cast<unsigned long long>(m.version));
  put("capacity", static_cast<unsigned>(m.capacity));
  if (m.lease_ref) put("lease_ref", static_cast<unsigned long long>(m.lease_ref));
  put("running", strings(m.running));
  put("starting", strings(m.starting));
  if (!m.stopping.empty()) put("stopping", strings(m.stopping));
  put("failed", strings(m.failed));
  if (!m.sos.empty()) put("sos", strings(m.sos));
  put("assigned", strings(m.assigned));
  if (m.table) put("table", table_value(*m.table));
  const wire::bytes b = wire::encode_msgpack(value(std::move(f)));
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

decode_result decode_placement(std::string_view payload, const placement_limits& lim,
                               placement_message& out) {
  wire::limits wl;
  wl.max_depth = max_depth;
  value v;
  const wire::decode_result r = wire::decode_msgpack(
      {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, wl, v);
  if (!r.is_done()) return {false, "malformed placement: " + r.why};
  std::string why;
  placement_reader rd(lim, why);
  placement_message m;
  const auto u64 = std::numeric_limits<std::uint64_t>::max();
  const std::set<std::string> seen =
      rd.fields("placement", v, [&](const std::string& n, const value& f) {
        std::uint64_t u = 0;
        if (n == "kind") {
          rd.unsigned_int(n, f, 255, u);
          if (rd.ok() && (u < 1 || u > 3))
            rd.fail("placement field 'kind' has an unknown value " + std::to_string(u));
          m.kind = static_cast<placement_kind>(u);
        } else if (n == "from") {
          rd.string(n, f, m.from, true);
        } else if (n == "epoch") {
          rd.unsigned_int(n, f, u64, m.epoch);
        } else if (n == "ref") {
          rd.unsigned_int(n, f, u64, m.ref);
        } else if (n == "version") {
          rd.unsigned_int(n, f, u64, m.version);
        } else if (n == "lease_ref") {
          rd.unsigned_int(n, f, u64, m.lease_ref);
        } else if (n == "capacity") {
          rd.unsigned_int(n, f, std::numeric_limits<std::uint32_t>::max(), u);
          m.capacity = static_cast<std::uint32_t>(u);
        } else if (n == "running") {
          rd.string_list(n, f, m.running);
        } else if (n == "starting") {
          rd.string_list(n, f, m.starting);
        } else if (n == "stopping") {
          rd.string_list(n, f, m.stopping);
        } else if (n == "failed") {
          rd.string_list(n, f, m.failed);
        } else if (n == "sos") {
          rd.string_list(n, f, m.sos);
        } else if (n == "assigned") {
          rd.string_list(n, f, m.assigned);
        } else if (n == "table") {
          m.table.emplace();
          read_table(rd, f, *m.table);
        }
      });
  rd.required(seen, {"kind", "from", "epoch"});
  if (!why.empty()) return {false, std::move(why)};
  out = std::move(m);
  return {true, {}};
}

message placement_envelope(const placement_message& m) {
  message out;
  out.type = message_type::placement;
  out.epoch = m.epoch;
  out.payload = encode_placement(m);
  return out;
}

}  // namespace brood::legion

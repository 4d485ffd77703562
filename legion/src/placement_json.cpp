// The placement as JSON (emperor-stats `legion_placement`, docs/legion.md "Placement").
#include "brood/legion/placement_runner.hpp"

#include <nlohmann/json.hpp>

namespace brood::legion {

nlohmann::json to_json(const placement_view& v) {
  nlohmann::json table = nlohmann::json::object();
  for (const auto& [name, members] : v.table.placed) table[name] = members;
  nlohmann::json leaving = nlohmann::json::object();
  for (const auto& [name, member] : v.table.leaving) leaving[name] = member;
  nlohmann::json catalog = nlohmann::json::object();
  for (const vassal_spec& s : v.table.catalog) catalog[s.name] = s.replicas;
  return {{"legion", v.legion},
          {"lord", v.lord},
          {"fenced", v.fenced},
          {"epoch", v.table.epoch},
          {"version", v.table.version},
          {"table", std::move(table)},
          {"leaving", std::move(leaving)},
          {"catalog", std::move(catalog)},
          {"running", v.running}};
}

}  // namespace brood::legion

#include "brood/emperor/vassal_command.hpp"

#include <string_view>

namespace brood::emperor {
namespace {

constexpr std::string_view vassal_env_prefix = "UWSGI_VASSAL_";
constexpr std::string_view uwsgi_env_prefix = "UWSGI_";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The option that loads a config file of this name (docs/uwsgi-compat.md §4.2 step 5).
const char* type_flag(std::string_view path) {
  if (ends_with(path, ".ini")) return "--ini";
  if (ends_with(path, ".xml")) return "--xml";
  if (ends_with(path, ".yml") || ends_with(path, ".yaml")) return "--yaml";
  if (ends_with(path, ".js") || ends_with(path, ".json")) return "--json";
  return "--inherit";
}

// `config`: the argument after the type flag (the path, or PATH:SECTION for a zerg).
std::vector<std::string> vassal_argv(const emperor_config& cfg, const vassal_file& file,
                                     const std::string& config, const std::string& self_exe) {
  std::vector<std::string> argv;
  argv.push_back(cfg.wrapper.empty() ? self_exe : cfg.wrapper);
  for (const auto& kv : cfg.vassal_set) {
    argv.push_back("--set");
    argv.push_back(kv);
  }
  argv.push_back(type_flag(file.path));
  argv.push_back(config);
  for (const auto& t : cfg.vassals_inherit) {
    argv.push_back("--inherit");
    argv.push_back(t);
  }
  for (const auto& t : cfg.vassals_include) {
    argv.push_back("--include");
    argv.push_back(t);
  }
  return argv;
}

// UWSGI_VASSAL_xxx=V becomes UWSGI_xxx=V (the original removed); UWSGI_RELOADS and
// NOTIFY_SOCKET are removed (a renamed UWSGI_VASSAL_RELOADS still sets UWSGI_RELOADS).
void vassal_environment(const std::vector<std::string>& environment, launch_spec& spec) {
  spec.unset = {"UWSGI_RELOADS", "NOTIFY_SOCKET"};
  for (const auto& entry : environment) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const std::string_view key(entry.data(), eq);
    if (key.size() <= vassal_env_prefix.size() ||
        key.substr(0, vassal_env_prefix.size()) != vassal_env_prefix)
      continue;
    spec.unset.emplace_back(key);
    spec.set.push_back(std::string(uwsgi_env_prefix) + entry.substr(vassal_env_prefix.size()));
  }
}

}  // namespace

launch_spec vassal_command(const emperor_config& cfg, const vassal_file& file,
                           const std::string& self_exe,
                           const std::vector<std::string>& environment) {
  launch_spec spec;
  spec.name = file.name;
  spec.argv = vassal_argv(cfg, file, file.path, self_exe);
  vassal_environment(environment, spec);
  return spec;
}

launch_spec zerg_command(const emperor_config& cfg, const vassal_file& file, unsigned number,
                         const std::string& self_exe, const std::vector<std::string>& environment) {
  launch_spec spec;
  spec.name = file.name;
  spec.argv = vassal_argv(cfg, file, file.path + ":" + std::string(zerg_section), self_exe);
  vassal_environment(environment, spec);
  spec.set.push_back("UWSGI_BROODLORD_NUM=" + std::to_string(number));
  return spec;
}

}  // namespace brood::emperor

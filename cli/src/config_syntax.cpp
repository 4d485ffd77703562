#include "config_syntax.hpp"

#include <set>
#include <unordered_set>

#include "config_logic.hpp"
#include "option_values.hpp"
#include "uwsgi_option_names.hpp"

namespace brood::cli {
namespace {

constexpr const char* conditions[] = {"if-opt",
                                      "if-not-opt",
                                      "if-env",
                                      "ifenv",
                                      "if-not-env",
                                      "if-reload",
                                      "if-not-reload",
                                      "if-hostname",
                                      "if-not-hostname",
                                      "if-hostname-match",
                                      "if-not-hostname-match",
                                      "if-exists",
                                      "ifexists",
                                      "if-not-exists",
                                      "if-plugin",
                                      "ifplugin",
                                      "if-not-plugin",
                                      "if-file",
                                      "if-not-file",
                                      "if-dir",
                                      "ifdir",
                                      "if-directory",
                                      "if-not-dir",
                                      "for",
                                      "for-glob",
                                      "for-times",
                                      "for-readline"};
constexpr const char* block_ends[] = {"endif", "end-if", "endfor", "end-for"};

po::options_description build() {
  po::options_description g("Config syntax (docs/config.md)", help_width, help_width / 2);
  g.add_options()  //
      ("set-placeholder", string_list_value()->value_name("KEY=VALUE"),
       "define the placeholder %(KEY) (no option)")(
          "set-ph", string_list_value()->value_name("KEY=VALUE"), "same as --set-placeholder")(
          "strict", flag_value(),
          "refuse keys that are no brood option (typos, placeholders, uWSGI options brood lacks)")(
          "show-config", flag_value(), "print the resolved options (as uWSGI does), then run");
  for (const char* name : conditions)
    g.add_options()(name, po::value<std::string>()->value_name("ARG"),
                    "logic block: see docs/config.md");
  for (const char* name : block_ends)
    g.add_options()(name, po::value<std::string>()->implicit_value("")->value_name("ANY"),
                    "end of a logic block");
  return g;
}

std::string located(const config_entry& e) {
  return e.where.empty() ? "on the command line" : "in " + e.where;
}

}  // namespace

const po::options_description& config_syntax_options() {
  static const po::options_description table = build();
  return table;
}

bool is_syntax_key(const std::string& key) {
  // By name (built once): boost's find_nothrow compares the key with every description.
  static const std::unordered_set<std::string> keys = [] {
    std::unordered_set<std::string> names{"ini", "include", "inherit", "set"};
    for (const auto& d : config_syntax_options().options()) {
      const auto [long_names, count] = d->long_names();
      names.insert(long_names, long_names + count);
    }
    return names;
  }();
  return keys.count(key) != 0;
}

std::vector<std::string> check_keys(const std::vector<config_entry>& entries, bool strict,
                                    const std::function<bool(const std::string&)>& known) {
  std::vector<std::string> warnings;
  std::set<std::string> seen;
  std::string missing;  // the uWSGI options brood lacks, for one warning
  for (const config_entry& e : entries) {
    if (e.placeholder || is_syntax_key(e.key) || known(e.key)) continue;
    const bool uwsgi = is_uwsgi_option(e.key);
    if (!uwsgi && e.from_environment) continue;
    if (strict)
      throw option_error(uwsgi ? "option '" + e.key + "' " + located(e) +
                                     " is a uWSGI option that brood does not implement (strict)"
                               : "unknown option '" + e.key + "' " + located(e) + " (strict)");
    if (!seen.insert(e.key).second) continue;
    if (uwsgi) {
      missing += (missing.empty() ? "" : ", ") + e.key + " (" + located(e) + ")";
    } else {
      warnings.push_back("'" + e.key + "' " + located(e) +
                         " is no brood or uWSGI option: kept as the placeholder %(" + e.key + ")");
    }
  }
  if (!missing.empty())
    warnings.push_back("uWSGI options that brood does not implement, ignored: " + missing);
  return warnings;
}

std::string show_config_text(const std::vector<config_entry>& entries) {
  std::string out = "\n;uWSGI instance configuration\n[uwsgi]\n";
  for (const config_entry& e : entries)
    out += e.key + " = " + (e.value.empty() ? std::string("true") : joined_tokens(e.value)) + "\n";
  out += ";end of configuration\n\n";
  return out;
}

}  // namespace brood::cli

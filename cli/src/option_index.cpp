// parse_table(), its index by name and its defaults (see option_index.hpp).
#include "option_index.hpp"

#include <map>
#include <unordered_map>

#include "config_syntax.hpp"
#include "option_table.hpp"

namespace brood::cli {
namespace po = boost::program_options;

const po::options_description& parse_table() {
  static const po::options_description table = [] {
    po::options_description all;
    all.add(option_table()).add(config_syntax_options());
    return all;
  }();
  return table;
}

namespace {

using option_by_name = std::unordered_map<std::string, const po::option_description*>;

const option_by_name& option_index() {
  static const option_by_name index = [] {
    option_by_name by_name;
    for (const auto& d : option_table().options()) {
      const auto [names, count] = d->long_names();
      for (std::size_t i = 0; i < count; ++i) by_name.emplace(names[i], d.get());
      const std::string short_form =
          d->canonical_display_name(po::command_line_style::allow_dash_for_short);
      if (short_form.size() == 2 && short_form[0] == '-') by_name.emplace(short_form, d.get());
    }
    return by_name;
  }();
  return index;
}

// parse_table()'s descriptions by long name and by short form ("-s").
using shared_by_name = std::unordered_map<std::string, boost::shared_ptr<po::option_description>>;

const shared_by_name& parse_table_index() {
  static const shared_by_name index = [] {
    shared_by_name by_name;
    for (const auto& d : parse_table().options()) {
      const auto [names, count] = d->long_names();
      for (std::size_t i = 0; i < count; ++i) by_name.emplace(names[i], d);
      const std::string short_form =
          d->canonical_display_name(po::command_line_style::allow_dash_for_short);
      if (short_form.size() == 2 && short_form[0] == '-') by_name.emplace(short_form, d);
    }
    return by_name;
  }();
  return index;
}

}  // namespace

po::options_description command_line_table(const std::vector<std::string>& args) {
  const shared_by_name& index = parse_table_index();
  std::vector<const po::option_description*> added;
  po::options_description table;
  auto add = [&](const std::string& name) {
    const auto found = index.find(name);
    if (found == index.end()) return;
    for (const po::option_description* d : added)
      if (d == found->second.get()) return;
    added.push_back(found->second.get());
    table.add(found->second);
  };
  for (const std::string& a : args) {
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
      add(a.substr(2, a.find('=') - 2));
    } else if (a.size() > 1 && a[0] == '-') {
      for (std::size_t i = 1; i < a.size(); ++i) add(std::string{'-', a[i]});
    }
  }
  return table;
}

const po::option_description* find_option(const std::string& name) {
  const option_by_name& index = option_index();
  if (const auto found = index.find(name); found != index.end()) return found->second;
  return option_table().find_nothrow(name, false);
}

const po::variables_map& option_defaults() {
  static const po::variables_map defaults = [] {
    po::variables_map vm;
    for (const auto& d : option_table().options()) {
      const std::string& key = d->key("");
      boost::any value;
      if (!key.empty() && !vm.count(key) && d->semantic()->apply_default(value))
        vm.emplace(key, po::variable_value(value, true));
    }
    return vm;
  }();
  return defaults;
}

void store_over(po::variables_map& vm, const std::string& key,
                const std::vector<std::string>& tokens) {
  const po::option_description* d = find_option(key);
  if (!d) throw po::unknown_option(key);
  // variables_map's own operator[] is const (it reads); its std::map base inserts.
  po::variable_value& v = static_cast<std::map<std::string, po::variable_value>&>(vm)[key];
  if (v.defaulted()) v = po::variable_value();
  d->semantic()->parse(v.value(), tokens, true);
}

}  // namespace brood::cli

#include "options.hpp"

#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

#include "brood/os/child_process.hpp"
#include "config_stream.hpp"
#include "config_syntax.hpp"
#include "emperor_options.hpp"
#include "ini.hpp"
#include "ini_expand.hpp"
#include "option_index.hpp"
#include "option_table.hpp"
#include "option_values.hpp"
#include "placeholders.hpp"
#include "router_options.hpp"
#include "uwsgi_option_names.hpp"

namespace brood::cli {
namespace {

constexpr std::size_t max_ini_depth = 16;

// One option occurrence, from the command line or an ini line, in order of appearance.
struct entry {
  std::string key;                 // canonical long name
  std::vector<std::string> value;  // the tokens given (empty for a bare --flag)
  std::string name;                // as shown in errors: "--buffer-size" or "buffer-size"
  std::string where;               // "" for the command line, else "FILE line N"
};

std::string joined(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) out += (out.empty() ? "" : " ") + t;
  return out;
}

std::string in_where(const std::string& where) { return where.empty() ? "" : " in " + where; }

// Collects the config entries of the environment and the command line in order, through the
// logic blocks (config_stream), expanding every `ini` in place. Throws option_error naming what
// is wrong.
class collector {
 public:
  explicit collector(std::vector<std::string> environment)
      : environment_(environment),
        stream_([this](config_entry e) { accept(std::move(e)); },
                {std::move(environment), [this](std::string_view name) { return lookup(name); }}) {}

  // Options of the command line. A uWSGI option brood lacks is kept (and reported later, by
  // check_keys) with its value: `--name=V` or `--name V`; any other unknown option is an error.
  void add_command_line(const std::vector<std::string>& args) {
    int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    const po::options_description named = command_line_table(args);  // not all of parse_table()
    po::parsed_options parsed =
        po::command_line_parser(args).options(named).style(style).allow_unregistered().run();
    auto& opts = parsed.options;
    for (std::size_t i = 0; i < opts.size(); ++i) {
      auto& o = opts[i];
      if (o.unregistered) {
        std::string name = o.string_key;
        if (!is_uwsgi_option(name))
          throw option_error("unknown option '" + o.original_tokens.front() + "'");
        std::vector<std::string> value = o.value;
        if (value.empty() && i + 1 < opts.size() && opts[i + 1].string_key.empty())
          value = opts[++i].value;
        feed({name, expanded(value), {}});
        continue;
      }
      if (o.string_key.empty())
        throw option_error("unexpected argument '" + joined(o.original_tokens) + "'");
      feed({o.string_key, expanded(o.value), {}});
    }
  }

  // Options from the environment, as uWSGI reads them: UWSGI_SOCKET=:3031 is `--socket :3031`
  // (the name lowercased, '_' read as '-'). Variables naming no option (UWSGI_EMPEROR_FD,
  // UWSGI_RELOADS...) are placeholders only.
  void add_environment() {
    constexpr std::string_view prefix = "UWSGI_";
    for (const std::string& kv : environment_) {
      std::size_t eq = kv.find('=');
      if (eq == std::string::npos || kv.compare(0, prefix.size(), prefix) != 0) continue;
      std::string name = kv.substr(prefix.size(), eq - prefix.size());
      for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
      if (name.empty()) continue;
      feed({name, expanded({kv.substr(eq + 1)}), "environment variable " + kv.substr(0, eq), true});
    }
  }

  // Every entry, in order, with the placeholders expanded.
  std::vector<config_entry> finish() {
    stream_.finish();
    for (std::string& w : stream_.take_warnings()) warnings_.push_back(std::move(w));
    expand_placeholders(all_);
    return std::move(all_);
  }

  std::vector<std::string> take_warnings() { return std::move(warnings_); }

 private:
  std::vector<std::string> expanded(std::vector<std::string> tokens) const {
    for (std::string& t : tokens) t = expand_references(t, environment_);
    return tokens;
  }

  void feed(config_entry e) { stream_.feed(std::move(e)); }

  std::optional<std::string> lookup(std::string_view name) const {
    for (const config_entry& e : all_)
      if (e.key == name) return joined(e.value);
    return std::nullopt;
  }

  // An entry the logic blocks let through.
  void accept(config_entry e) {
    std::string key = canonical_option(e.key);
    all_.push_back(e);
    if (key == "ini") {
      include(e);
    } else if (key == "set" || key == "set-placeholder" || key == "set-ph") {
      define(e, key != "set");
    }
  }

  // `set KEY=VALUE`: the option KEY with VALUE; `set-placeholder KEY=VALUE`: %(KEY) only.
  void define(const config_entry& e, bool placeholder) {
    const std::string kv = joined(e.value);
    std::size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    if (eq == std::string::npos || key.empty())
      throw option_error("invalid value '" + kv + "' for option '" + e.key + "': not KEY=VALUE" +
                         in_where(e.where));
    if (key == "set") throw option_error("'set set=...' is not allowed" + in_where(e.where));
    config_entry d{key, {kv.substr(eq + 1)}, e.where.empty() ? "--" + e.key + " " + kv : e.where};
    d.placeholder = placeholder;
    d.from_environment = e.from_environment;
    accept(std::move(d));
  }

  // The identity of an ini file and section, for loops: its canonical path and the section.
  static std::string ini_id(const ini_spec& s) {
    std::error_code ec;
    return std::filesystem::weakly_canonical(s.path, ec).string() + ":" + s.section;
  }

  void include(const config_entry& e) {
    const std::string spec = joined(e.value);
    ini_spec s = split_ini_spec(spec);
    // The paths are made canonical only for a nested include (a vassal's one file needs none).
    if (!loading_.empty()) {
      const std::string id = ini_id(s);
      for (open_ini& o : loading_) {
        if (o.id.empty()) o.id = ini_id(o.at);
        if (o.id == id) throw option_error("ini include loop: " + chain() + " -> " + spec);
      }
    }
    if (loading_.size() >= max_ini_depth)
      throw option_error("ini files nested more than " + std::to_string(max_ini_depth) +
                         " deep: " + chain() + " -> " + spec);
    std::vector<ini_line> lines;
    try {
      lines = load_ini_section(s, environment_);
    } catch (const option_error& x) {
      if (e.where.empty()) throw;
      throw option_error(std::string(x.what()) + " (included from " + e.where + ")");
    }
    loading_.push_back({s, {}, spec});
    for (auto& l : lines) feed({l.key, {l.value}, s.path + " line " + std::to_string(l.line)});
    loading_.pop_back();
  }

  std::string chain() const {
    std::string out;
    for (const open_ini& o : loading_) out += (out.empty() ? "" : " -> ") + o.spec;
    return out;
  }

  std::vector<std::string> environment_;
  config_stream stream_;
  // An ini file being read: where, its identity once needed (ini_id; "" before), as given.
  struct open_ini {
    ini_spec at;
    std::string id;
    std::string spec;
  };
  std::vector<open_ini> loading_;
  std::vector<config_entry> all_;
  std::vector<std::string> warnings_;
};

bool flag_set(const std::vector<config_entry>& all, const char* key) {
  bool on = false;
  for (const config_entry& e : all) {
    if (e.key != key) continue;
    const std::string v = joined(e.value);
    on = v.empty() || v == "1" || v == "true" || v == "yes" || v == "on";
  }
  return on;
}

// The entries that are brood options, canonical and validated: a bad value is reported with
// its origin.
std::vector<entry> option_entries(const std::vector<config_entry>& all) {
  std::vector<entry> out;
  for (const config_entry& c : all) {
    if (c.placeholder || is_syntax_key(c.key)) continue;
    const po::option_description* d = find_option(c.key);
    if (!d) continue;
    entry e{canonical_option(c.key), c.value, c.where.empty() ? "--" + c.key : c.key, c.where};
    boost::any scratch;
    std::string why;
    try {
      d->semantic()->parse(scratch, e.value, true);
      out.push_back(std::move(e));
      continue;
    } catch (const bad_value& x) {
      why = x.reason();
    } catch (const po::error& x) {
      why = x.what();
    }
    throw option_error("invalid value '" + joined(e.value) + "' for option '" + e.name + "'" +
                       in_where(e.where) + ": " + why);
  }
  return out;
}

// Stores the entries as uWSGI applies them: the last value of a scalar option wins, repeatable
// (composing) options keep every value in order; the options not given keep their defaults. What
// po::store and po::notify would leave (no option has a notifier or is required), from the
// defaults and the index built once (option_index.hpp).
po::variables_map store_entries(const std::vector<entry>& entries) {
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < entries.size(); ++i) last[entries[i].key] = i;
  po::variables_map vm = option_defaults();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const po::option_description* d = find_option(e.key);
    if (d && (last[e.key] == i || d->semantic()->is_composing())) store_over(vm, e.key, e.value);
  }
  return vm;
}

}  // namespace

options_result parse_options(const std::vector<std::string>& args) {
  return parse_options(args, os::environment_strings());
}

options_result parse_options(const std::vector<std::string>& args,
                             const std::vector<std::string>& environment) {
  try {
    collector c(environment);
    c.add_environment();
    c.add_command_line(args);
    std::vector<config_entry> all = c.finish();
    std::vector<std::string> warnings = c.take_warnings();
    std::vector<std::string> unknown = check_keys(
        all, flag_set(all, "strict"), [](const std::string& k) { return find_option(k); });
    warnings.insert(warnings.end(), unknown.begin(), unknown.end());
    po::variables_map vm = store_entries(option_entries(all));
    cli::options out;
    if (flag_set(all, "show-config")) out.show_config = show_config_text(all);
    out.config = to_node_config(vm);
    out.app = to_app_options(vm);
    out.emperor = to_emperor_config(vm);
    out.router = to_router_config(vm);
    out.help = vm["help"].as<bool>();
    out.version = vm["version"].as<bool>();
    return {std::move(out), {}, std::move(warnings)};
  } catch (const option_error& e) {
    return {std::nullopt, e.what()};
  } catch (const po::unknown_option& e) {
    return {std::nullopt, "unknown option '" + e.get_option_name() + "'"};
  } catch (const po::error& e) {
    return {std::nullopt, e.what()};
  }
}

std::string help_text() {
  std::ostringstream s;
  s << "Usage: brood [OPTIONS]             run a node (at least one --socket)\n"
       "       brood --emperor DIR|GLOB [OPTIONS]\n"
       "                                   run an emperor over the vassal files there\n"
       "       brood call ADDR [OPTIONS]   send one message, print the answer as JSON\n"
       "       brood ping ADDR [OPTIONS]   ping a node\n"
       "       brood legion ADDR [OPTIONS] print a legion member's view\n"
       "       brood spool ADDR KEY=VALUE... [OPTIONS]\n"
       "                                   enqueue a task on a node's spooler\n"
       "       (`brood call --help`, `brood ping --help`, `brood spool --help` list their\n"
       "       options)\n"
       "\n"
       "Options have uWSGI's names. They come from the command line and from ini files\n"
       "(--ini FILE[:SECTION]) in order of appearance: a later value replaces an earlier\n"
       "one, repeatable options (socket, ini, spooler) add up. In an ini file write\n"
       "`key = value` (or a bare `key` for a flag); uWSGI's placeholders, magic\n"
       "variables, $(ENV), @(file) and logic blocks work as in uWSGI (docs/config.md).\n"
       "\n"
    << option_table() << "\n"
    << config_syntax_options();
  return s.str();
}

}  // namespace brood::cli

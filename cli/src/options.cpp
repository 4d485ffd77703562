#include "options.hpp"

#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

#include "brood/os/child_process.hpp"
#include "emperor_options.hpp"
#include "ini.hpp"
#include "option_table.hpp"
#include "option_values.hpp"

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

// Collects the entries of the command line, expanding every `ini` in place.
// Throws option_error naming what is wrong.
class collector {
 public:
  explicit collector(const po::options_description& desc) : desc_(desc) {}

  void add_command_line(const std::vector<std::string>& args) {
    int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::parsed_options parsed = po::command_line_parser(args).options(desc_).style(style).run();
    for (auto& o : parsed.options) {
      if (o.string_key.empty())
        throw option_error("unexpected argument '" + joined(o.original_tokens) + "'");
      add({o.string_key, o.value, "--" + o.string_key, {}});
    }
  }

  // Options from the environment, as uWSGI reads them: UWSGI_SOCKET=:3031 is `--socket :3031`
  // (the name lowercased, '_' read as '-'). Variables naming no option (UWSGI_EMPEROR_FD,
  // UWSGI_RELOADS...) are not options and are skipped.
  void add_environment(const std::vector<std::string>& environment) {
    constexpr std::string_view prefix = "UWSGI_";
    for (const std::string& kv : environment) {
      std::size_t eq = kv.find('=');
      if (eq == std::string::npos || kv.compare(0, prefix.size(), prefix) != 0) continue;
      std::string name = kv.substr(prefix.size(), eq - prefix.size());
      for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
      if (name.empty() || !desc_.find_nothrow(name, false)) continue;
      add({name, {kv.substr(eq + 1)}, name, "environment variable " + kv.substr(0, eq)});
    }
  }

  std::vector<entry> take() { return std::move(entries_); }

 private:
  void add(entry e) {
    e.key = canonical_option(e.key);
    check(e);
    if (e.key == "ini") {
      include(e.value.front(), e.where);
    } else if (e.key == "set") {
      set(e);
    } else {
      entries_.push_back(std::move(e));
    }
  }

  // Parses the value alone so that a bad one is reported with its origin.
  void check(const entry& e) const {
    const po::option_description* d = desc_.find_nothrow(e.key, false);
    boost::any scratch;
    std::string why;
    try {
      d->semantic()->parse(scratch, e.value, true);
      return;
    } catch (const bad_value& x) {
      why = x.reason();
    } catch (const po::error& x) {
      why = x.what();
    }
    throw option_error("invalid value '" + joined(e.value) + "' for option '" + e.name + "'" +
                       (e.where.empty() ? "" : " in " + e.where) + ": " + why);
  }

  // `set KEY=VALUE`: the option KEY with VALUE, from where the `set` was.
  void set(const entry& e) {
    const std::string& kv = e.value.front();
    std::size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    if (eq == std::string::npos || key.empty())
      throw option_error("invalid value '" + kv + "' for option '" + e.name + "': not KEY=VALUE" +
                         (e.where.empty() ? "" : " in " + e.where));
    if (key == "set" || !desc_.find_nothrow(key, false))
      throw option_error("unknown option '" + key + "' in '" + e.name + " " + kv + "'" +
                         (e.where.empty() ? "" : " in " + e.where));
    add({key, {kv.substr(eq + 1)}, key, e.where.empty() ? "--set " + kv : e.where});
  }

  void include(const std::string& spec, const std::string& from) {
    ini_spec s = split_ini_spec(spec);
    std::error_code ec;
    std::string id = std::filesystem::weakly_canonical(s.path, ec).string() + ":" + s.section;
    for (const auto& [loading_id, loading_spec] : loading_)
      if (loading_id == id) throw option_error("ini include loop: " + chain() + " -> " + spec);
    if (loading_.size() >= max_ini_depth)
      throw option_error("ini files nested more than " + std::to_string(max_ini_depth) +
                         " deep: " + chain() + " -> " + spec);
    std::vector<ini_line> lines;
    try {
      lines = load_ini_section(s);
    } catch (const option_error& x) {
      if (from.empty()) throw;
      throw option_error(std::string(x.what()) + " (included from " + from + ")");
    }
    loading_.emplace_back(id, spec);
    for (auto& l : lines) {
      std::string here = s.path + " line " + std::to_string(l.line);
      if (l.key.front() == '-' || !desc_.find_nothrow(l.key, false))
        throw option_error("unknown option '" + l.key + "' in " + here);
      add({l.key, {l.value}, l.key, here});
    }
    loading_.pop_back();
  }

  std::string chain() const {
    std::string out;
    for (const auto& [id, spec] : loading_) out += (out.empty() ? "" : " -> ") + spec;
    return out;
  }

  const po::options_description& desc_;
  std::vector<std::pair<std::string, std::string>> loading_;  // (id, spec) of open ini files
  std::vector<entry> entries_;
};

// Stores the entries as uWSGI applies them: the last value of a scalar option wins, repeatable
// (composing) options keep every value in order.
po::variables_map store_entries(const std::vector<entry>& entries,
                                const po::options_description& desc) {
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < entries.size(); ++i) last[entries[i].key] = i;
  po::parsed_options parsed(&desc);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (last[e.key] == i || desc.find(e.key, false).semantic()->is_composing())
      parsed.options.emplace_back(e.key, e.value);
  }
  po::variables_map vm;
  po::store(parsed, vm);
  po::notify(vm);
  return vm;
}

}  // namespace

options_result parse_options(const std::vector<std::string>& args) {
  return parse_options(args, os::environment_strings());
}

options_result parse_options(const std::vector<std::string>& args,
                             const std::vector<std::string>& environment) {
  try {
    collector c(option_table());
    c.add_environment(environment);
    c.add_command_line(args);
    po::variables_map vm = store_entries(c.take(), option_table());
    cli::options out;
    out.config = to_node_config(vm);
    out.app = to_app_options(vm);
    out.emperor = to_emperor_config(vm);
    out.help = vm["help"].as<bool>();
    out.version = vm["version"].as<bool>();
    return {std::move(out), {}};
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
       "       brood spool ADDR KEY=VALUE... [OPTIONS]\n"
       "                                   enqueue a task on a node's spooler\n"
       "       (`brood call --help`, `brood ping --help`, `brood spool --help` list their\n"
       "       options)\n"
       "\n"
       "Options have uWSGI's names. They come from the command line and from ini files\n"
       "(--ini FILE[:SECTION]) in order of appearance: a later value replaces an earlier\n"
       "one, repeatable options (socket, ini, spooler) add up. In an ini file write\n"
       "`key = value`.\n"
       "\n"
    << option_table();
  return s.str();
}

}  // namespace brood::cli

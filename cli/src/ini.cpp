#include "ini.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ini_expand.hpp"
#include "option_values.hpp"

namespace brood::cli {
namespace {

std::string_view trim(std::string_view s) {
  const char* spaces = " \t\r\n\f\v";
  auto first = s.find_first_not_of(spaces);
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(spaces);
  return s.substr(first, last - first + 1);
}

[[noreturn]] void fail_at(const std::string& file, int line, const std::string& what) {
  throw option_error(file + " line " + std::to_string(line) + ": " + what);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw option_error("cannot open ini file '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw option_error("cannot read ini file '" + path + "'");
  return text.str();
}

bool has_section(const std::vector<ini_line>& lines, const std::string& name) {
  for (const auto& l : lines)
    if (l.section == name) return true;
  return false;
}

}  // namespace

ini_spec split_ini_spec(std::string_view spec) {
  auto slash = spec.rfind('/');
  auto colon = spec.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash))
    return {std::string(spec), {}};
  return {std::string(spec.substr(0, colon)), std::string(spec.substr(colon + 1))};
}

std::vector<ini_line> parse_ini_text(std::string_view text, const std::string& file) {
  std::vector<ini_line> out;
  std::string section;
  int number = 0;
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++number;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == ';' || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']') fail_at(file, number, "section header without ']'");
      section = std::string(trim(line.substr(1, line.size() - 2)));
      out.push_back({section, {}, {}, number});  // records that the section exists
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {  // a bare key: `master` reads as `master =`
      out.push_back({section, std::string(line), {}, number});
      continue;
    }
    std::string_view key = trim(line.substr(0, eq));
    if (key.empty()) fail_at(file, number, "empty key before '='");
    out.push_back({section, std::string(key), std::string(trim(line.substr(eq + 1))), number});
  }
  return out;
}

std::vector<ini_line> load_ini_section(const ini_spec& spec,
                                       const std::vector<std::string>& environment) {
  std::vector<ini_line> all = parse_ini_text(read_file(spec.path), spec.path);
  std::string wanted = spec.section;
  if (wanted.empty()) {
    if (has_section(all, "uwsgi")) {
      wanted = "uwsgi";
    } else if (has_section(all, "brood")) {
      wanted = "brood";
    } else {
      throw option_error("ini file '" + spec.path + "' has no [uwsgi] or [brood] section");
    }
  } else if (!has_section(all, wanted)) {
    throw option_error("ini file '" + spec.path + "' has no [" + wanted + "] section");
  }
  const magic_context magic = magic_for_file(spec.path);
  std::vector<ini_line> out;
  for (auto& l : all) {
    if (l.section != wanted || l.key.empty()) continue;
    try {
      l.value = expand_references(expand_magic(l.value, magic), environment);
    } catch (const option_error& e) {
      fail_at(spec.path, l.line, e.what());
    }
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace brood::cli

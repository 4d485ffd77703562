#pragma once
// Ini files as uWSGI reads them: `[section]` headers, `key = value` lines, bare `key` lines (an
// empty value: a flag reads it as true), whole-line comments starting with ';' or '#', repeated
// keys kept in order. No inline comments, no quoting: the value is the text after '=' with
// surrounding spaces removed. Magic variables, $(ENV) and @(file) are expanded when a section is
// loaded (ini_expand.hpp); includes, logic blocks and %(placeholders) by the option parser
// (options.cpp, config_stream.hpp, placeholders.hpp), not here.
#include <string>
#include <string_view>
#include <vector>

namespace brood::cli {

// "file.ini" or "file.ini:section" (the ':' must come after the last '/').
struct ini_spec {
  std::string path;
  std::string section;  // empty: the default section ([uwsgi], else [brood])
};
ini_spec split_ini_spec(std::string_view spec);

struct ini_line {
  std::string section;
  std::string key;
  std::string value;
  int line = 0;  // 1-based line number in the file
};

// Parses ini text. Lines before the first section header are kept with an empty section. Each
// section header also yields a line with an empty key (so empty sections are seen to exist).
// Throws option_error naming `file` and the line on a malformed line (empty key, unterminated
// section header).
std::vector<ini_line> parse_ini_text(std::string_view text, const std::string& file);

// Reads spec.path and returns the lines of its section: spec.section, or [uwsgi], or [brood],
// with the magic variables of spec.path, $(NAME) of `environment` ("K=V" strings) and @(file)
// expanded in the values. Throws option_error naming the file (and line) when it cannot be read,
// has no such section, or names a file in @(...) that cannot be read.
std::vector<ini_line> load_ini_section(const ini_spec& spec,
                                       const std::vector<std::string>& environment);

}  // namespace brood::cli

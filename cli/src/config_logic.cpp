#include "config_logic.hpp"

#include <glob.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <utility>

#include "ini_expand.hpp"

namespace brood::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::pair<std::string_view, std::string_view> keywords[] = {
    {"if-opt", "if-opt"},
    {"if-not-opt", "if-not-opt"},
    {"if-env", "if-env"},
    {"ifenv", "if-env"},
    {"if-not-env", "if-not-env"},
    {"if-reload", "if-reload"},
    {"if-not-reload", "if-not-reload"},
    {"if-hostname", "if-hostname"},
    {"if-not-hostname", "if-not-hostname"},
    {"if-hostname-match", "if-hostname-match"},
    {"if-not-hostname-match", "if-not-hostname-match"},
    {"if-exists", "if-exists"},
    {"ifexists", "if-exists"},
    {"if-not-exists", "if-not-exists"},
    {"if-plugin", "if-plugin"},
    {"ifplugin", "if-plugin"},
    {"if-not-plugin", "if-not-plugin"},
    {"if-file", "if-file"},
    {"if-not-file", "if-not-file"},
    {"if-dir", "if-dir"},
    {"ifdir", "if-dir"},
    {"if-directory", "if-dir"},
    {"if-not-dir", "if-not-dir"},
    {"endif", "endif"},
    {"end-if", "endif"},
    {"for", "for"},
    {"for-glob", "for-glob"},
    {"for-times", "for-times"},
    {"for-readline", "for-readline"},
    {"endfor", "endfor"},
    {"end-for", "endfor"},
};

// "NAME" or "NAME=VALUE": the name, and the value wanted (nullopt: any).
std::pair<std::string, std::optional<std::string>> split_wanted(const std::string& arg) {
  std::size_t eq = arg.find('=');
  if (eq == std::string::npos) return {arg, std::nullopt};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

// Brood has Python built in: the python plugins are always "loaded".
bool has_plugin(const std::string& name) {
  return name.rfind("python", 0) == 0 || name == "python_plugin.so";
}

condition positive(std::string_view keyword, const std::string& arg, const logic_context& ctx) {
  std::error_code ec;
  if (keyword == "env") {
    auto [name, wanted] = split_wanted(arg);
    std::string storage;
    const std::string* v = find_environment(ctx.environment, name, storage);
    if (!v || (wanted && *wanted != *v)) return {};
    return {true, *v};
  }
  if (keyword == "opt") {
    auto [name, wanted] = split_wanted(arg);
    std::optional<std::string> v = ctx.option ? ctx.option(name) : std::nullopt;
    if (!v || (wanted && *wanted != *v)) return {};
    return {true, *v};
  }
  bool holds = false;
  if (keyword == "exists") holds = fs::exists(arg, ec);
  if (keyword == "file") holds = fs::is_regular_file(arg, ec);
  if (keyword == "dir") holds = fs::is_directory(arg, ec);
  if (keyword == "hostname") holds = host_name() == arg;
  if (keyword == "plugin") holds = has_plugin(arg);
  if (keyword == "reload") holds = false;  // brood re-reads no config on a reload
  if (keyword == "hostname-match") {
    try {
      holds = std::regex_search(host_name(), std::regex(arg));
    } catch (const std::regex_error&) {
      holds = false;
    }
  }
  return {holds, arg};
}

std::vector<std::string> split_words(const std::string& arg) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < arg.size()) {
    std::size_t end = arg.find(' ', i);
    if (end == std::string::npos) end = arg.size();
    if (end > i) out.push_back(arg.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

}  // namespace

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

std::string_view logic_keyword(std::string_view key) {
  for (auto [alias, keyword] : keywords)
    if (key == alias) return keyword;
  return {};
}

bool opens_if(std::string_view keyword) { return keyword.rfind("if-", 0) == 0; }

bool opens_for(std::string_view keyword) { return keyword.rfind("for", 0) == 0; }

condition evaluate_condition(std::string_view keyword, const std::string& arg,
                             const logic_context& ctx) {
  std::string_view rest = keyword.substr(3);  // after "if-"
  bool negated = rest.rfind("not-", 0) == 0;
  if (!negated) return positive(rest, arg, ctx);
  rest.remove_prefix(4);
  condition c = positive(rest, arg, ctx);
  // uWSGI binds %(_) to the argument in if-not-* blocks, but not in if-not-env / if-not-opt.
  if (rest == "env" || rest == "opt") return {!c.holds, std::nullopt};
  return {!c.holds, arg};
}

std::vector<std::string> for_items(std::string_view keyword, const std::string& arg,
                                   std::vector<std::string>& warnings) {
  std::vector<std::string> out;
  if (keyword == "for") return split_words(arg);
  if (keyword == "for-times") {
    unsigned long n = 0;
    std::from_chars(arg.data(), arg.data() + arg.size(), n);
    for (unsigned long i = 1; i <= n && i <= 1000000; ++i) out.push_back(std::to_string(i));
  } else if (keyword == "for-glob") {
    glob_t g{};
    if (::glob(arg.c_str(), 0, nullptr, &g) == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
  } else if (keyword == "for-readline") {
    std::ifstream in(arg);
    if (!in) {
      warnings.push_back("for-readline: cannot open '" + arg + "': " + std::strerror(errno) +
                         ": the block is skipped");
      return out;
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      out.push_back(line);
    }
  }
  return out;
}

}  // namespace brood::cli

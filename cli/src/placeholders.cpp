#include "placeholders.hpp"

#include <map>
#include <string>
#include <string_view>

#include "config_logic.hpp"
#include "config_stream.hpp"

namespace brood::cli {
namespace {

constexpr int max_passes = 8;
constexpr std::size_t max_value_size = 1 << 20;

// One expansion of `token`; true when it changed.
bool expand_token(std::string& token, const std::vector<config_entry>& entries,
                  const std::map<std::string, std::size_t, std::less<>>& first) {
  std::string out;
  bool changed = false;
  std::size_t i = 0;
  while (i < token.size()) {
    std::size_t open = token.find("%(", i);
    std::size_t close = open == std::string::npos ? open : token.find(')', open + 2);
    if (close == std::string::npos) break;
    out.append(token, i, open - i);
    std::string_view name(token.data() + open + 2, close - open - 2);
    auto it = first.find(name);
    if (it == first.end()) {
      out.append(token, open, close - open + 1);
    } else {
      out += joined_tokens(entries[it->second].value);
      changed = true;
      if (out.size() > max_value_size) return false;  // e.g. `a = %(a)%(a)`
    }
    i = close + 1;
  }
  if (!changed) return false;
  out.append(token, i, std::string::npos);
  if (out.size() > max_value_size || out == token) return false;
  token = std::move(out);
  return true;
}

}  // namespace

void expand_placeholders(std::vector<config_entry>& entries) {
  std::map<std::string, std::size_t, std::less<>> first;
  for (std::size_t i = 0; i < entries.size(); ++i) first.emplace(entries[i].key, i);
  for (int pass = 0; pass < max_passes; ++pass) {
    bool changed = false;
    for (auto& e : entries) {
      if (!logic_keyword(e.key).empty()) continue;  // shown as written, as uWSGI does
      for (std::string& token : e.value) changed |= expand_token(token, entries, first);
    }
    if (!changed) return;
  }
}

}  // namespace brood::cli

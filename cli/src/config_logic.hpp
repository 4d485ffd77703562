#pragma once
// uWSGI's config logic options: the conditions of `if-*` blocks and the items of `for*` blocks,
// with what %(_) means inside them (docs/config.md, "Config syntax").
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brood::cli {

// This machine's host name (gethostname), empty when it cannot be read.
std::string host_name();

// The canonical logic keyword of `key` ("ifenv" -> "if-env", "end-if" -> "endif",
// "end-for" -> "endfor"), or "" when `key` is no logic option.
std::string_view logic_keyword(std::string_view key);
bool opens_if(std::string_view keyword);   // if-*
bool opens_for(std::string_view keyword);  // for, for-glob, for-times, for-readline

// What a condition may look at: the environment ("K=V" strings) and the options given so far.
struct logic_context {
  std::vector<std::string> environment;
  // The value of the first option named `name` given so far, or nullopt.
  std::function<std::optional<std::string>(std::string_view name)> option;
};

struct condition {
  bool holds = false;
  std::optional<std::string> binding;  // %(_) inside the block (nullopt: not bound)
};

// Evaluates `if-*` keyword with its argument. REQUIRES: opens_if(keyword).
condition evaluate_condition(std::string_view keyword, const std::string& arg,
                             const logic_context& ctx);

// The items a `for*` keyword iterates over. A for-readline file that cannot be read gives no
// items and a warning (uWSGI logs it and skips the block). REQUIRES: opens_for(keyword).
std::vector<std::string> for_items(std::string_view keyword, const std::string& arg,
                                   std::vector<std::string>& warnings);

}  // namespace brood::cli

#include "config_stream.hpp"

#include <utility>

#include "option_values.hpp"

namespace brood::cli {
namespace {

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

std::string joined_tokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) out += (out.empty() ? "" : " ") + t;
  return out;
}

config_stream::config_stream(sink out, logic_context ctx)
    : out_(std::move(out)), ctx_(std::move(ctx)) {}

bool config_stream::has_binding() const {
  for (const auto& b : bindings_)
    if (b) return true;
  return false;
}

std::string config_stream::bound() const {
  for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it)
    if (*it) return **it;
  return {};
}

void config_stream::feed(config_entry e) {
  std::string_view keyword = logic_keyword(e.key);
  if (for_depth_ > 0) {
    if (opens_for(keyword)) ++for_depth_;
    if (keyword == "endfor" && --for_depth_ == 0) {
      replay();
      out_(std::move(e));  // after the items, as uWSGI lists it
      return;
    }
    for_body_.push_back(std::move(e));
    return;
  }
  if (skip_depth_ > 0) {
    if (opens_if(keyword)) ++skip_depth_;
    if (keyword == "endif" && --skip_depth_ == 0) out_(std::move(e));
    return;
  }
  if (has_binding())
    for (std::string& token : e.value) replace_all(token, "%(_)", bound());
  std::string arg = joined_tokens(e.value);
  out_(e);
  if (opens_if(keyword)) {
    condition c = evaluate_condition(keyword, arg, ctx_);
    if (c.holds) {
      bindings_.push_back(std::move(c.binding));
    } else {
      skip_depth_ = 1;
    }
  } else if (opens_for(keyword)) {
    for_depth_ = 1;
    for_line_ = std::move(e);
    for_keyword_ = std::string(keyword);
  } else if (keyword == "endif" && !bindings_.empty()) {
    bindings_.pop_back();
  }
}

// Feeds the collected body once per item. The body is moved out first: a nested for-block
// collects into the members again while it is replayed.
void config_stream::replay() {
  std::vector<config_entry> body = std::move(for_body_);
  for_body_.clear();
  std::vector<std::string> items =
      for_items(for_keyword_, joined_tokens(for_line_.value), warnings_);
  const std::size_t depth = bindings_.size();
  for (const std::string& item : items) {
    bindings_.emplace_back(item);
    for (const config_entry& e : body) feed(e);
    bindings_.resize(depth);  // also drops what an unclosed if-block in the body left
  }
}

void config_stream::finish() {
  if (for_depth_ > 0)
    throw option_error("'" + for_line_.key + " = " + joined_tokens(for_line_.value) + "'" +
                       (for_line_.where.empty() ? "" : " in " + for_line_.where) +
                       " has no endfor");
}

}  // namespace brood::cli

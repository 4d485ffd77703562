#include "brood/router/routing_key.hpp"

namespace brood::router {

std::string_view request_key(const std::vector<wire::var>& vars) noexcept {
  for (std::string_view name : {"UWSGI_FASTROUTER_KEY", "HTTP_HOST", "SERVER_NAME"}) {
    const wire::var_lookup v = wire::find_var(vars, name);
    if (v.found && !v.value.empty()) return v.value;
  }
  return {};
}

std::vector<std::string_view> lookup_keys(std::string_view key, bool dotsplit) {
  constexpr std::size_t max_tries = 5;
  std::vector<std::string_view> keys;
  if (key.empty()) return keys;
  keys.push_back(key);
  if (!dotsplit) return keys;
  std::string_view rest = key;
  while (keys.size() < max_tries) {
    const std::size_t dot = rest.find('.', 1);
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot);
    keys.push_back(rest);
  }
  return keys;
}

std::uint32_t key_hash(std::string_view key) noexcept {
  std::uint32_t h = 5381;
  for (char c : key) h = ((h << 5) + h) ^ static_cast<std::uint32_t>(static_cast<signed char>(c));
  return h % 0xffff;
}

}  // namespace brood::router

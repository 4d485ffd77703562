#include "brood/legion/config.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace brood::legion {
namespace {

std::vector<std::string> split_ws(const std::string& s, std::size_t max_fields) {
  // The last field keeps the rest of the line (a SECRET with an IV, a hook's command).
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size() && out.size() + 1 < max_fields) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  std::string rest = s.substr(std::min(i, s.size()));
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.pop_back();
  if (!rest.empty()) out.push_back(rest);
  return out;
}

template <typename T>
bool parse_number(const std::string& s, T& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

legion_config* named(config& c, const std::string& option, const std::string& name,
                     std::string& error) {
  legion_config* l = c.find(name);
  if (l == nullptr) error = option + ": unknown legion '" + name + "' (declare it with legion)";
  return l;
}

}  // namespace

std::string endpoint::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const char* hook_event_name(hook_event e) noexcept {
  switch (e) {
    case hook_event::lord:
      return "lord";
    case hook_event::unlord:
      return "unlord";
    case hook_event::setup:
      return "setup";
    case hook_event::death:
      return "death";
    case hook_event::join:
      return "join";
    case hook_event::node_joined:
      return "node-joined";
    case hook_event::node_left:
      return "node-left";
  }
  return "?";
}

std::vector<endpoint> legion_config::members() const {
  std::vector<endpoint> out{address};
  for (const endpoint& e : nodes)
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  std::sort(out.begin(), out.end(),
            [](const endpoint& a, const endpoint& b) { return a.text() < b.text(); });
  return out;
}

std::size_t legion_config::effective_quorum() const {
  return quorum ? *quorum : members().size() / 2 + 1;
}

legion_config* config::find(const std::string& name) {
  for (legion_config& l : legions)
    if (l.name == name) return &l;
  return nullptr;
}

std::string parse_endpoint(const std::string& text, endpoint& out) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return "'" + text + "' is not [IPV6]:PORT";
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return "'" + text + "' is not HOST:PORT";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return "'" + text + "': write IPv6 as [ADDR]:PORT";
  }
  unsigned value = 0;
  if (!parse_number(port, value) || value == 0 || value > 65535)
    return "'" + text + "' has no valid port (1-65535)";
  out = endpoint{host, static_cast<std::uint16_t>(value)};
  return {};
}

std::string apply_legion(config& c, const std::string& value) {
  const auto f = split_ws(value, 4);
  if (f.size() != 4) return "legion: expected NAME ADDR VALOR SECRET, got '" + value + "'";
  if (c.find(f[0]) != nullptr) return "legion: '" + f[0] + "' is declared twice";
  legion_config l;
  l.name = f[0];
  if (std::string e = parse_endpoint(f[1], l.address); !e.empty()) return "legion: ADDR " + e;
  if (!parse_number(f[2], l.valor) || l.valor < 0)
    return "legion: VALOR '" + f[2] + "' is not a number >= 0";
  l.secret = f[3];
  c.legions.push_back(std::move(l));
  return {};
}

std::string apply_legion_node(config& c, const std::string& value) {
  const auto f = split_ws(value, 2);
  if (f.size() != 2) return "legion-node: expected NAME ADDR, got '" + value + "'";
  std::string error;
  legion_config* l = named(c, "legion-node", f[0], error);
  if (l == nullptr) return error;
  endpoint e;
  if (std::string why = parse_endpoint(f[1], e); !why.empty()) return "legion-node: " + why;
  l->nodes.push_back(e);
  return {};
}

std::string apply_legion_quorum(config& c, const std::string& value) {
  const auto f = split_ws(value, 2);
  if (f.size() != 2) return "legion-quorum: expected NAME N, got '" + value + "'";
  std::string error;
  legion_config* l = named(c, "legion-quorum", f[0], error);
  if (l == nullptr) return error;
  std::size_t n = 0;
  if (!parse_number(f[1], n) || n == 0) return "legion-quorum: N '" + f[1] + "' is not >= 1";
  l->quorum = n;
  return {};
}

std::string apply_legion_scroll(config& c, const std::string& value) {
  const auto f = split_ws(value, 2);
  if (f.empty()) return "legion-scroll: expected NAME TEXT";
  std::string error;
  legion_config* l = named(c, "legion-scroll", f[0], error);
  if (l == nullptr) return error;
  l->scroll = f.size() > 1 ? f[1] : std::string{};
  if (l->scroll.size() > c.scroll_max_size)
    return "legion-scroll: the scroll of '" + f[0] + "' is longer than " +
           std::to_string(c.scroll_max_size) + " bytes";
  return {};
}

std::string apply_legion_hook(config& c, hook_event e, const std::string& value) {
  const std::string option = std::string("legion-") + hook_event_name(e);
  const auto f = split_ws(value, 2);
  if (f.size() != 2) return option + ": expected NAME ACTION, got '" + value + "'";
  std::string error;
  legion_config* l = named(c, option, f[0], error);
  if (l == nullptr) return error;
  const std::size_t colon = f[1].find(':');
  const std::string kind = f[1].substr(0, colon);
  hook_action a;
  if (kind == "cmd")
    a.what = hook_action::kind::cmd;
  else if (kind == "exec")
    a.what = hook_action::kind::exec;
  else if (kind == "log")
    a.what = hook_action::kind::log;
  else if (kind == "signal")
    a.what = hook_action::kind::signal;
  else
    return option + ": unknown action '" + f[1] + "' (cmd:, exec:, log: or signal:)";
  if (colon == std::string::npos) return option + ": action '" + f[1] + "' has no argument";
  a.arg = f[1].substr(colon + 1);
  if (a.what == hook_action::kind::signal) {
    int n = 0;
    if (!parse_number(a.arg, n) || n < 0 || n > 255)
      return option + ": signal '" + a.arg + "' is not a uwsgi signal number (0-255)";
  }
  l->hooks[e].push_back(std::move(a));
  return {};
}

std::string apply_legion_attach_daemon(config& c, const std::string& value) {
  const auto f = split_ws(value, 2);
  if (f.size() != 2) return "legion-attach-daemon: expected NAME COMMAND, got '" + value + "'";
  std::string error;
  legion_config* l = named(c, "legion-attach-daemon", f[0], error);
  if (l == nullptr) return error;
  l->attach_daemons.push_back(f[1]);
  return {};
}

std::string apply_legion_etcd(config& c, const std::string& value) {
  const auto f = split_ws(value, 2);
  if (f.empty()) return "legion-etcd: expected [NAME] ENDPOINTS";
  if (f.size() == 1 || f[0].find("://") != std::string::npos) {
    if (c.legions.empty()) return "legion-etcd: no legion declared before it";
    for (legion_config& l : c.legions) l.etcd_endpoints = value;
    return {};
  }
  std::string error;
  legion_config* l = named(c, "legion-etcd", f[0], error);
  if (l == nullptr) return error;
  l->etcd_endpoints = f[1];
  return {};
}

std::string validate(const config& c) {
  if (c.times.heartbeat.count() <= 0) return "legion-heartbeat must be > 0 ms";
  if (c.times.heartbeat * 2 > c.times.lease)
    return "legion-lease (" + std::to_string(c.times.lease.count()) +
           " ms) must be at least twice legion-heartbeat (" +
           std::to_string(c.times.heartbeat.count()) + " ms)";
  for (std::size_t i = 0; i < c.legions.size(); ++i) {
    const legion_config& l = c.legions[i];
    if (l.quorum && *l.quorum > l.members().size())
      return "legion-quorum: " + std::to_string(*l.quorum) + " for '" + l.name + "' exceeds its " +
             std::to_string(l.members().size()) + " members";
    for (std::size_t j = 0; j < i; ++j)
      if (c.legions[j].address == l.address)
        return "legion: '" + c.legions[j].name + "' and '" + l.name + "' both bind " +
               l.address.text();
  }
  return {};
}

}  // namespace brood::legion

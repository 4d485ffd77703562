// The subscription options' syntax (brood/node/subscription_config.hpp).
#include "brood/node/subscription_config.hpp"

#include <charconv>
#include <stdexcept>

namespace brood::node {
namespace {

[[noreturn]] void refuse(std::string_view value, const std::string& why) {
  throw std::invalid_argument("\"" + std::string(value) + "\": " + why);
}

std::uint64_t decimal(std::string_view value, std::string_view name, std::string_view text,
                      std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n > max)
    refuse(value, std::string(name) + " \"" + std::string(text) + "\" is not a number from 0 to " +
                      std::to_string(max));
  return n;
}

std::uint8_t modifier(std::string_view value, std::string_view name, std::string_view text) {
  return static_cast<std::uint8_t>(decimal(value, name, text, 255));
}

// A unix datagram socket path (the key follows its first ':').
bool unix_server(std::string_view s) { return !s.empty() && (s[0] == '/' || s[0] == '.'); }

}  // namespace

subscription_target parse_subscribe_to(std::string_view value) {
  subscription_target t;
  t.origin = std::string(value);
  std::string_view rest = value;
  if (!rest.empty() && rest[0] == '=') {  // =N=
    const std::size_t eq = rest.find('=', 1);
    if (eq == std::string_view::npos) refuse(value, "\"=N=\" needs a closing '='");
    t.socket = decimal(value, "socket number", rest.substr(1, eq - 1), 1023);
    rest.remove_prefix(eq + 1);
  } else if (const std::size_t eq = rest.find('='); eq != std::string_view::npos) {
    t.socket_name = std::string(rest.substr(0, eq));
    if (t.socket_name.empty()) refuse(value, "empty socket name before '='");
    rest.remove_prefix(eq + 1);
  }
  std::size_t colon = rest.find(':');
  if (colon != std::string_view::npos && !unix_server(rest)) colon = rest.find(':', colon + 1);
  if (colon == std::string_view::npos)
    refuse(value, "expected SERVER:KEY (SERVER is host:port or a unix socket path)");
  t.server = std::string(rest.substr(0, colon));
  if (t.server.empty() || t.server.back() == ':') refuse(value, "empty server");
  std::string_view tail = rest.substr(colon + 1);
  const std::size_t c1 = tail.find(',');
  t.key = std::string(tail.substr(0, c1));
  if (t.key.empty()) refuse(value, "empty key");
  if (c1 != std::string_view::npos) {
    tail.remove_prefix(c1 + 1);
    const std::size_t c2 = tail.find(',');
    if (!tail.substr(0, c2).empty()) t.modifier1 = modifier(value, "modifier1", tail.substr(0, c2));
    if (c2 != std::string_view::npos) {
      t.sign = std::string(tail.substr(c2 + 1));
      if (t.sign.find(':') == std::string::npos)
        refuse(value, "sign must be <digest>:<PEM private key file>");
    }
  }
  return t;
}

subscription_target parse_subscribe2(std::string_view value) {
  subscription_target t;
  t.origin = std::string(value);
  std::vector<std::string_view> seen;
  std::string_view rest = value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      refuse(value, "\"" + std::string(item) + "\" is not name=value");
    const std::string_view name = item.substr(0, eq), v = item.substr(eq + 1);
    for (std::string_view s : seen)
      if (s == name) refuse(value, "\"" + std::string(name) + "\" given twice");
    seen.push_back(name);
    if (name == "server") {
      t.server = std::string(v);
    } else if (name == "key") {
      t.key = std::string(v);
    } else if (name == "socket") {
      t.socket = decimal(value, "socket", v, 1023);
    } else if (name == "addr") {
      t.addr = std::string(v);
    } else if (name == "weight") {
      t.weight = decimal(value, "weight", v, UINT64_MAX);
    } else if (name == "modifier1") {
      t.modifier1 = modifier(value, "modifier1", v);
    } else if (name == "modifier2") {
      t.modifier2 = modifier(value, "modifier2", v);
    } else if (name == "sign") {
      if (v.find(':') == std::string_view::npos)
        refuse(value, "sign must be <digest>:<PEM private key file>");
      t.sign = std::string(v);
    } else if (name == "check") {
      t.check = std::string(v);
    } else if (name == "sni_key") {
      t.sni_key = std::string(v);
    } else if (name == "sni_crt") {
      t.sni_crt = std::string(v);
    } else if (name == "sni_ca") {
      t.sni_ca = std::string(v);
    } else if (name == "keepalive") {
      t.keepalive = decimal(value, "keepalive", v, 1) == 1;
    } else {
      refuse(value, "unknown name \"" + std::string(name) +
                        "\" (server, key, socket, addr, weight, modifier1, modifier2, sign, "
                        "check, sni_key, sni_crt, sni_ca, keepalive)");
    }
  }
  if (t.server.empty()) refuse(value, "server= is required");
  if (t.key.empty()) refuse(value, "key= is required");
  return t;
}

std::vector<std::pair<std::string, std::optional<std::uint8_t>>> parse_key_list(
    std::string_view text) {
  std::vector<std::pair<std::string, std::optional<std::uint8_t>>> keys;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    const std::size_t comma = line.find(',');
    std::optional<std::uint8_t> m1;
    if (comma != std::string_view::npos) m1 = modifier(line, "modifier1", line.substr(comma + 1));
    if (comma == 0) refuse(line, "empty key");
    keys.emplace_back(std::string(line.substr(0, comma)), m1);
  }
  return keys;
}

}  // namespace brood::node

#include "brood/os/address.hpp"

#include <charconv>

namespace brood::os {
namespace {

constexpr std::string_view unix_prefix = "unix:";

status fail(std::string text) {
  return status(std::make_error_code(std::errc::invalid_argument), std::move(text));
}

std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

// Parses the decimal port after the last ':' of `text`.
result<std::uint16_t> parse_port(std::string_view digits, std::string_view text) {
  if (digits.empty()) return fail("missing port in " + quoted(text));
  for (char c : digits) {
    if (c < '0' || c > '9') return fail("bad port " + quoted(digits) + " in " + quoted(text));
  }
  unsigned long port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port > 65535)
    return fail("port " + std::string(digits) + " out of range in " + quoted(text));
  return static_cast<std::uint16_t>(port);
}

}  // namespace

std::string address::to_string() const {
  if (type == kind::unix_path) {
    // A path holding ':' would read back as TCP without the prefix.
    if (path.find(':') != std::string::npos) return std::string(unix_prefix) + path;
    return path;
  }
  std::string out;
  if (host.find(':') != std::string::npos) {
    out = "[" + host + "]";  // IPv6 literal
  } else {
    out = host;
  }
  return out + ":" + std::to_string(port);
}

result<address> parse_address(std::string_view text) {
  if (text.empty()) return fail("empty address");
  address out;
  if (text.starts_with(unix_prefix) || text.find(':') == std::string_view::npos) {
    std::string_view path = text.starts_with(unix_prefix) ? text.substr(unix_prefix.size()) : text;
    if (path.empty()) return fail("empty unix socket path in " + quoted(text));
    out.type = address::kind::unix_path;
    out.path = std::string(path);
    return out;
  }
  std::size_t colon = text.rfind(':');
  std::string_view host = text.substr(0, colon);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) {
      return fail("bad IPv6 host " + quoted(host) + " in " + quoted(text));
    }
    host = host.substr(1, host.size() - 2);
  }
  auto port = parse_port(text.substr(colon + 1), text);
  if (!port) return port.error();
  out.type = address::kind::tcp;
  out.host = std::string(host);
  out.port = *port;
  return out;
}

}  // namespace brood::os

// The fork-server request and reply (fork_protocol.hpp).
#include "brood/wire/fork_protocol.hpp"

#include <charconv>
#include <string>
#include <string_view>

#include "brood/wire/array.hpp"
#include "brood/wire/vars.hpp"

namespace brood::wire {
namespace {

constexpr std::size_t max_body = 65535;

decode_result bad_request(std::string why) {
  return decode_result::bad(errc::fork_bad_request, std::move(why));
}

decode_result bad_reply(std::string why) {
  return decode_result::bad(errc::fork_bad_reply, std::move(why));
}

// An env entry: "K=V" or "K", K not empty.
bool valid_env(std::string_view e) noexcept { return !e.empty() && e.front() != '='; }

// A decimal integer in its one canonical spelling (no '+', no leading zero).
bool parse_decimal(std::string_view text, long long& out) noexcept {
  if (text.empty()) return false;
  const std::string_view digits = text.front() == '-' ? text.substr(1) : text;
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0')) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

int standard_fds(std::uint8_t bits) noexcept {
  return 1 + ((bits & fork_config_fd) ? 1 : 0) + ((bits & fork_on_demand_fd) ? 1 : 0);
}

}  // namespace

std::uint8_t fork_request::bitmask() const noexcept {
  std::uint8_t bits = fork_emperor_fd;
  if (config_fd) bits |= fork_config_fd;
  if (on_demand_fd) bits |= fork_on_demand_fd;
  if (sockets > 0) bits |= fork_sockets;
  if (!env.empty()) bits |= fork_environment;
  return bits;
}

int fork_request::fd_count() const noexcept { return standard_fds(bitmask()) + sockets; }

std::error_code encode_fork_request(const fork_request& r, bytes& out) {
  if (r.argv.empty() || r.sockets < 0 || r.fd_count() > max_fork_fds) return errc::fork_bad_request;
  for (const std::string& e : r.env)
    if (!valid_env(e)) return errc::fork_bad_request;
  std::vector<std::string_view> items;
  const std::string count = std::to_string(r.argv.size());
  if (!r.env.empty()) items.push_back(count);
  items.insert(items.end(), r.argv.begin(), r.argv.end());
  items.insert(items.end(), r.env.begin(), r.env.end());
  bytes body;
  if (std::error_code ec = append_array(body, items)) return ec;
  if (body.size() > max_body) return errc::payload_too_long;
  return append_packet(out, fork_modifier1, r.bitmask(), body);
}

decode_result check_fork_header(const header& h) {
  if (h.modifier1 != fork_modifier1)
    return bad_request("modifier1 " + std::to_string(h.modifier1) + " is not 35");
  if ((h.modifier2 & ~fork_known_bits) != 0 || (h.modifier2 & fork_emperor_fd) == 0)
    return bad_request("fd bitmask (modifier2) " + std::to_string(h.modifier2) +
                       " has unknown bits or lacks 0x01 (the emperor channel)");
  return decode_result::done(header_size);
}

decode_result decode_fork_request(const header& h, bytes_view body, int fds, const limits& lim,
                                  fork_request& out) {
  if (decode_result r = check_fork_header(h); r.is_bad()) return r;
  const int standard = standard_fds(h.modifier2);
  const bool sockets = (h.modifier2 & fork_sockets) != 0;
  if (fds > max_fork_fds || (sockets ? fds < standard + 1 : fds != standard))
    return bad_request(
        std::to_string(fds) + " fds received for the fd bitmask " + std::to_string(h.modifier2) +
        " (expected " + std::to_string(standard) +
        (sockets ? " and 1.." + std::to_string(max_fork_fds - standard) + " inherited sockets"
                 : std::string()) +
        ")");
  if (body.size() != h.size)
    return bad_request("body of " + std::to_string(body.size()) + " bytes, pktsize " +
                       std::to_string(h.size));
  std::vector<std::string_view> items;
  if (decode_result r = decode_array(body, lim, items); r.is_bad())
    return bad_request("argv array: " + r.why);
  fork_request req;
  std::size_t argc = items.size(), first = 0;
  if (h.modifier2 & fork_environment) {
    long long n = -1;
    if (items.empty() || !parse_decimal(items[0], n) || n < 0 ||
        static_cast<std::size_t>(n) > items.size() - 1)
      return bad_request("environment request: the first item is not the argv count");
    argc = static_cast<std::size_t>(n);
    first = 1;
  }
  if (argc == 0) return bad_request("empty argv");
  for (std::size_t i = first; i < first + argc; ++i) req.argv.emplace_back(items[i]);
  for (std::size_t i = first + argc; i < items.size(); ++i) {
    if (!valid_env(items[i]))
      return bad_request("environment entry " + std::to_string(i - first - argc) +
                         " is empty or has no name");
    req.env.emplace_back(items[i]);
  }
  if ((h.modifier2 & fork_environment) && req.env.empty())
    return bad_request("environment bit set with no environment entry");
  req.config_fd = (h.modifier2 & fork_config_fd) != 0;
  req.on_demand_fd = (h.modifier2 & fork_on_demand_fd) != 0;
  req.sockets = sockets ? fds - standard : 0;
  out = std::move(req);
  return decode_result::done(body.size());
}

bytes encode_fork_reply(pid_t pid) {
  const std::string value = std::to_string(pid);
  bytes body;
  append_vars(body, {var{"pid", value}});
  bytes out;
  append_packet(out, fork_modifier1, 0, body);
  return out;
}

decode_result decode_fork_reply(bytes_view buffered, const limits& lim, long long& pid) {
  if (buffered.size() < header_size) return decode_result::need_more();
  const header h = decode_header(buffered);
  if (h.modifier1 != fork_modifier1)
    return bad_reply("modifier1 " + std::to_string(h.modifier1) + " is not 35");
  if (buffered.size() < header_size + h.size) return decode_result::need_more();
  std::vector<var> vars;
  if (decode_result r = decode_vars(buffered.subspan(header_size, h.size), lim, vars); r.is_bad())
    return bad_reply("vars: " + r.why);
  const var_lookup found = find_var(vars, "pid");
  if (!found.found) return bad_reply("no pid in the reply");
  long long value = 0;
  if (!parse_decimal(found.value, value))
    return bad_reply("pid \"" + std::string(found.value.substr(0, 32)) + "\" is not a number");
  pid = value;
  return decode_result::done(header_size + h.size);
}

}  // namespace brood::wire
